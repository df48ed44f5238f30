"""Tests of benchmarks/finished_runs.py: finished runs kept beside a report, counted later.

(Through the benchmark, a row finished over two commands whose workdirs are
gone: tests/test_mode_collapse_2d.py.)
"""

import json

from benchmarks import finished_runs
from benchmarks import training_time
from benchmarks.configs import gan_2d

FIGURES = {'modes': 7, 'high_quality': 0.9124, 'reverse_kl': 0.0831}
RECORD = training_time.TrainingTime(steps=400_000, seconds=5_358.2, calls=3)


def _keep(results_dir, config, key='ring/seed_0', **kwargs):
  kwargs = {'metrics': FIGURES, 'record': RECORD, 'command': 'python bench.py', **kwargs}
  finished_runs.keep(results_dir, 'report', key, config, **kwargs)


def test_a_kept_run_is_found_as_it_was_kept(tmp_path):
  config = gan_2d.get_config()
  _keep(tmp_path, config)
  found = finished_runs.find(tmp_path, 'report', 'ring/seed_0', config)
  assert found.metrics == FIGURES
  assert found.training_time == RECORD
  assert found.command == 'python bench.py'
  assert found.note == ''
  # Beside the report it belongs to, readable by eye.
  kept = json.loads((tmp_path / 'report_runs.json').read_text())
  assert kept['ring/seed_0']['config']['init_stddev'] == config.init_stddev
  assert finished_runs.find(tmp_path, 'report', 'ring/seed_1', config) is None
  assert finished_runs.find(tmp_path, 'other_report', 'ring/seed_0', config) is None


def test_a_runs_evaluations_along_the_way_are_kept_with_it_and_older_runs_have_none(tmp_path):
  config = gan_2d.get_config()
  along = [{'step': 20_000, **FIGURES, 'modes': 6}, {'step': 40_000, **FIGURES}]
  _keep(tmp_path, config, evaluations=along)
  _keep(tmp_path, config, key='ring/seed_1')
  assert finished_runs.find(tmp_path, 'report', 'ring/seed_0', config).evaluations == tuple(along)
  assert finished_runs.find(tmp_path, 'report', 'ring/seed_1', config).evaluations == ()
  assert 'evaluations' not in json.loads((tmp_path / 'report_runs.json').read_text())['ring/seed_1']


def test_a_run_with_another_value_of_any_training_field_is_not_counted(tmp_path):
  config = gan_2d.get_config()
  _keep(tmp_path, config)
  for field, value in [('seed', 1), ('num_steps', 4_000), ('init_stddev', 0.01)]:
    changed = gan_2d.get_config()
    changed[field] = value
    assert finished_runs.find(tmp_path, 'report', 'ring/seed_0', changed) is None, field
    (difference,) = finished_runs.differences(json.loads(config.to_json_best_effort()), changed)
    assert difference == f'{field}: {config[field]!r} -> {value!r}'
  nested = gan_2d.get_config()
  nested.generator_optimizer.learning_rate = 2e-4
  assert finished_runs.find(tmp_path, 'report', 'ring/seed_0', nested) is None


def test_the_fields_that_choose_the_runs_and_a_field_added_since_do_not_matter(tmp_path):
  config = gan_2d.get_config()
  _keep(tmp_path, config)
  asked = gan_2d.get_config()
  asked.num_seeds = 3
  asked.dataset = 'ring'
  asked.results_dir = str(tmp_path)
  # Where the data is read from, not what it is.
  asked.data.data_dir = str(tmp_path / 'tfds')
  # An option added to the configs after the run, at its default.
  asked.a_new_option = 0.0
  assert finished_runs.find(tmp_path, 'report', 'ring/seed_0', asked) is not None


def test_a_new_outcome_replaces_the_kept_one_and_an_unknown_time_reads_as_none(tmp_path):
  config = gan_2d.get_config()
  _keep(tmp_path, config)
  _keep(tmp_path, config, key='ring/seed_1')
  _keep(tmp_path, config, metrics={**FIGURES, 'modes': 8}, record=None, note='from a report')
  found = finished_runs.find(tmp_path, 'report', 'ring/seed_0', config)
  assert found.metrics['modes'] == 8
  assert found.training_time == (0, 0.0, 0)
  assert found.training_time.steps_per_second is None
  assert found.note == 'from a report'
  assert finished_runs.find(tmp_path, 'report', 'ring/seed_1', config).metrics == FIGURES


def test_every_run_kept_in_a_folder_is_listed_with_its_config_whatever_the_config(tmp_path):
  config = gan_2d.get_config()
  _keep(tmp_path, config, key='grid/seed_1')
  other = gan_2d.get_config()
  other.name = 'PacGAN2'
  finished_runs.keep(
    tmp_path, 'other_report', 'ring/seed_0', other, metrics=FIGURES, record=RECORD, command='c'
  )
  listed = finished_runs.every_kept(tmp_path)
  assert [(key, run.config['name']) for key, run in listed] == [
    ('ring/seed_0', 'PacGAN2'),
    ('grid/seed_1', config.name),
  ]
  assert listed[1][1] == finished_runs.find(tmp_path, 'report', 'grid/seed_1', config)
  assert finished_runs.every_kept(tmp_path / 'nothing') == []
