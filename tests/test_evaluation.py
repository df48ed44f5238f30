"""Tests of a run's evaluation files: metrics.json's companion, evaluations.jsonl."""

import logging

from jaxgan.train import evaluation
from jaxgan.train import workdir as workdir_lib


def test_an_evaluation_replaces_those_of_its_step_and_later():
  made = [{'step': 100, 'fid': 90.0}, {'step': 200, 'fid': 70.0}, {'step': 300, 'fid': 60.0}]
  assert evaluation.course(made, 400, {'fid': 50.0}) == made + [{'step': 400, 'fid': 50.0}]
  # Resumed from the checkpoint of step 100: steps 200 and 300 are trained
  # again, and what the run had measured there belongs to a course it left.
  assert evaluation.course(made, 200, {'fid': 75.0}) == [
    {'step': 100, 'fid': 90.0},
    {'step': 200, 'fid': 75.0},
  ]
  assert evaluation.course([], 100, {'fid': 90.0}) == [{'step': 100, 'fid': 90.0}]


def test_evaluations_are_recorded_one_json_line_each_and_read_back(tmp_path, caplog):
  workdir = workdir_lib.Workdir(tmp_path / 'run')
  assert evaluation.read_evaluations(workdir) == []
  evaluation.record(workdir, step=20, results={'modes': 6, 'reverse_kl': 0.5})
  evaluation.record(workdir, step=40, results={'modes': 8, 'reverse_kl': 0.25})
  assert workdir.evaluations.read_text() == (
    '{"step": 20, "modes": 6, "reverse_kl": 0.5}\n{"step": 40, "modes": 8, "reverse_kl": 0.25}\n'
  )
  evaluation.record(workdir, step=40, results={'modes': 7, 'reverse_kl': 0.3})
  assert evaluation.read_evaluations(workdir) == [
    {'step': 20, 'modes': 6, 'reverse_kl': 0.5},
    {'step': 40, 'modes': 7, 'reverse_kl': 0.3},
  ]
  # A line edited by hand into something else is left out, and said so.
  text = workdir.evaluations.read_text()
  workdir.evaluations.write_text(text + '{"step": 6\n[60]\n')
  with caplog.at_level(logging.WARNING):
    assert [record['step'] for record in evaluation.read_evaluations(workdir)] == [20, 40]
  assert 'Line 3 of' in caplog.text and 'Line 4 of' in caplog.text
