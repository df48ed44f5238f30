"""Tests of benchmarks/training_time.py: a run's training time summed over the calls that train it.

(A call stopped by SIGTERM counts the steps it saved:
tests/test_mode_collapse_2d.py, through the benchmark.)
"""

import json

import pytest

from benchmarks import training_time
from jaxgan.train import loop
from tests.test_toy2d import small_config


def _calls(workdir) -> list[dict]:
  return json.loads((workdir / training_time.FILE).read_text())['calls']


def test_each_call_adds_the_steps_it_trained_and_a_finished_run_adds_nothing(tmp_path):
  first = training_time.train(small_config(num_steps=20, checkpoint_every=10), str(tmp_path))
  assert (first.steps, first.calls) == (20, 1)
  assert first.seconds > 0
  assert first.steps_per_second == pytest.approx(20 / first.seconds)

  # Found finished: nothing trained, nothing added.
  assert training_time.train(small_config(num_steps=20), str(tmp_path)) == first

  longer = training_time.train(small_config(num_steps=50, checkpoint_every=10), str(tmp_path))
  assert (longer.steps, longer.calls) == (50, 2)
  assert longer.seconds > first.seconds
  assert [(c['first_step'], c['steps']) for c in _calls(tmp_path)] == [(0, 20), (20, 30)]
  assert training_time.read(tmp_path) == longer


def test_steps_trained_without_the_record_are_not_in_it(tmp_path):
  loop.train_and_evaluate(small_config(num_steps=20), str(tmp_path))
  assert training_time.latest_step(tmp_path) == 20
  assert training_time.read(tmp_path) == (0, 0.0, 0)
  record = training_time.train(small_config(num_steps=40), str(tmp_path))
  assert (record.steps, record.calls) == (20, 1)
  assert [c['first_step'] for c in _calls(tmp_path)] == [20]


def test_a_workdir_without_checkpoints_is_at_step_zero_and_has_no_speed(tmp_path):
  assert training_time.latest_step(tmp_path / 'missing') == 0
  record = training_time.read(tmp_path)
  assert record.steps_per_second is None
  assert training_time.describe(record) == 'no record of its training time'


def test_the_words_give_the_recorded_figures():
  record = training_time.TrainingTime(steps=400_000, seconds=4_630.3, calls=2)
  assert training_time.describe(record) == (
    '400,000 steps in 77.2 min over 2 call(s) (86.39 steps/s, compilation and checkpoints included)'
  )
  assert training_time.time_taken(600.0, []) == '10.0 min'
  both = training_time.time_taken(600.0, [record, training_time.TrainingTime(10, 29.7, 1)])
  assert both == '10.0 min for this command (77.7 min of training recorded for its runs in all)'
