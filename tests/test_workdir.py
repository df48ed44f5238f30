"""Tests of the workdir's files: written whole, and the config's changes named."""

import json
import os

import pytest

from configs import gan as gan_config
from jaxgan.train import workdir as workdir_lib


def test_files_are_replaced_whole_and_leave_no_temporary(tmp_path):
  path = tmp_path / 'a' / 'metrics.json'
  workdir_lib.write_text(path, 'old')
  workdir_lib.write_text(path, 'new')
  assert path.read_text() == 'new'
  assert sorted(p.name for p in path.parent.iterdir()) == ['metrics.json']


def test_config_round_trip_and_changes(tmp_path):
  workdir = workdir_lib.Workdir(tmp_path / 'run')
  assert workdir.read_config() is None and workdir.config_changes(gan_config.get_config()) == []
  config = gan_config.get_config()
  workdir.write_config(config)
  assert workdir.read_config() == json.loads(config.to_json_best_effort())
  config.model = 'dcgan'
  config.generator_optimizer.learning_rate = 1e-3
  assert workdir.config_changes(config) == [
    'generator_optimizer.learning_rate: 0.0002 -> 0.001',
    "model: 'gan' -> 'dcgan'",
  ]


def test_the_evaluated_step_is_read_from_metrics_json(tmp_path):
  workdir = workdir_lib.Workdir(tmp_path / 'run')
  assert workdir.evaluated_step() is None
  workdir_lib.write_text(workdir.metrics, json.dumps({'step': 1200, 'metrics': {}}))
  assert workdir.evaluated_step() == 1200
  for damaged in ('{"step": 12', '{"metrics": {}}', '[1200]'):
    workdir_lib.write_text(workdir.metrics, damaged)
    assert workdir.evaluated_step() is None, damaged
  assert workdir.sample_grid(1200) == workdir.samples / 'step_0001200.png'


def test_writability_is_checked_where_the_run_will_write(tmp_path, monkeypatch):
  # A workdir still to be made: its nearest existing parent must be writable.
  workdir_lib.Workdir(tmp_path / 'a' / 'b').check_writable()
  (tmp_path / 'run' / 'samples').mkdir(parents=True)
  refused = str(tmp_path / 'run' / 'samples')
  real_access = os.access
  monkeypatch.setattr(
    os, 'access', lambda path, mode: str(path) != refused and real_access(path, mode)
  )
  with pytest.raises(ValueError, match=f'{refused} is not writable by this user'):
    workdir_lib.Workdir(tmp_path / 'run').check_writable()
  monkeypatch.setattr(os, 'access', lambda path, mode: str(path) != str(tmp_path))
  with pytest.raises(ValueError, match='not writable'):
    workdir_lib.Workdir(tmp_path / 'new' / 'run').check_writable()
  # A bucket's permissions show at its first write.
  workdir_lib.Workdir('gs://bucket/run').check_writable()
