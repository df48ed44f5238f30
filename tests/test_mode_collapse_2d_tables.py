"""Tests of benchmarks/mode_collapse_2d_tables.py: the 2-D rows gathered from their kept runs."""

import pytest

from benchmarks import finished_runs
from benchmarks import mode_collapse_2d_tables as tables
from benchmarks import training_time
from benchmarks.configs import gan_2d

RECORD = training_time.TrainingTime(steps=400_000, seconds=7_200.0, calls=2)


def _keep(results_dir, name, key, figures, *, num_steps=400_000, evaluations=()):
  config = gan_2d.get_config()
  config.name = name
  config.num_steps = num_steps
  stem = (
    'mode_collapse_2d' if name == 'GAN' else f'mode_collapse_2d_{name.lower().replace(" ", "_")}'
  )
  modes, high_quality, reverse_kl = figures
  finished_runs.keep(
    results_dir,
    stem,
    key,
    config,
    metrics={'modes': modes, 'high_quality': high_quality, 'reverse_kl': reverse_kl},
    record=RECORD,
    command='python benchmarks/mode_collapse_2d.py',
    evaluations=evaluations,
  )


def _evaluation(step, modes, high_quality, reverse_kl):
  return {'step': step, 'modes': modes, 'high_quality': high_quality, 'reverse_kl': reverse_kl}


def test_rows_come_in_the_published_order_with_their_seeds_in_order_and_one_dataset(tmp_path):
  _keep(tmp_path, 'PacGAN2', 'grid/seed_1', (25, 0.9, 0.1))
  _keep(tmp_path, 'PacGAN2', 'grid/seed_0', (25, 0.8, 0.1))
  _keep(tmp_path, 'GAN', 'grid/seed_0', (18, 0.9, 0.5))
  _keep(tmp_path, 'GAN', 'ring/seed_0', (6, 0.9, 0.5))
  # A row PacGAN did not publish comes after those it did.
  _keep(tmp_path, 'Minibatch discrimination', 'grid/seed_0', (19, 0.07, 0.1))
  rows = tables.gather(tmp_path, 'grid')
  assert list(rows) == ['GAN', 'PacGAN2', 'Minibatch discrimination']
  assert list(rows['PacGAN2']) == [0, 1]
  assert rows['PacGAN2'][1].metrics['high_quality'] == 0.9
  assert list(tables.gather(tmp_path, 'ring')) == ['GAN']


def test_a_row_is_its_seeds_mean_and_error_beside_the_published_row_and_how_far_apart(tmp_path):
  # Modes 16 and 20: mean 18, standard error 2.0; published 17.3 ± 0.8, so
  # (18 - 17.3) / sqrt(2.0^2 + 0.8^2) = 0.32. High quality 90% and 94%:
  # 92.0 ± 2.0 against 94.8 ± 0.7, -1.32. Reverse KL 0.6 and 0.8: 0.70 ±
  # 0.10 against 0.70 ± 0.07, no distance at all.
  _keep(tmp_path, 'GAN', 'grid/seed_0', (16, 0.90, 0.6))
  _keep(tmp_path, 'GAN', 'grid/seed_1', (20, 0.94, 0.8))
  lines = tables.rows_table('grid', tables.gather(tmp_path, 'grid'))
  assert lines[0].startswith('| Method | Steps per run | Seeds | 2D-grid modes (max 25) |')
  assert lines[2] == (
    '| GAN | 400,000 | 2 | 18.0 ± 2.0 | 92.0 ± 2.0% | 0.70 ± 0.10 '
    '| 17.3 ± 0.8, 94.8 ± 0.7%, 0.70 ± 0.07 | +0.3, -1.3, 0.0 |'
  )
  assert 'max 8' in tables.rows_table('ring', {})[0]


def test_a_row_of_one_seed_has_no_error_and_so_no_distance(tmp_path):
  _keep(tmp_path, 'PacGAN4', 'ring/seed_0', (8, 0.955, 0.04))
  (row,) = tables.rows_table('ring', tables.gather(tmp_path, 'ring'))[2:]
  assert row == (
    '| PacGAN4 | 400,000 | 1 | 8.0 | 95.5% | 0.04 | 7.8 ± 0.1, 95.9 ± 1.4%, 0.07 ± 0.02 | —, —, — |'
  )


def test_a_row_whose_runs_trained_for_different_lengths_is_refused(tmp_path):
  _keep(tmp_path, 'GAN', 'grid/seed_0', (18, 0.9, 0.5))
  _keep(tmp_path, 'GAN', 'grid/seed_1', (15, 0.3, 0.4), num_steps=10_000)
  with pytest.raises(ValueError, match=r'different lengths \(\[10000, 400000\] steps\)'):
    tables.rows_table('grid', tables.gather(tmp_path, 'grid'))


def test_each_run_with_evaluations_is_a_column_in_the_order_of_the_rows(tmp_path):
  _keep(
    tmp_path,
    'PacGAN2',
    'grid/seed_0',
    (25, 0.8, 0.1),
    evaluations=[_evaluation(20_000, 24, 0.356, 0.06)],
  )
  _keep(
    tmp_path,
    'GAN',
    'grid/seed_1',
    (18, 0.9, 0.5),
    evaluations=[_evaluation(20_000, 16, 0.459, 0.5), _evaluation(40_000, 19, 0.747, 0.51)],
  )
  _keep(tmp_path, 'GAN', 'grid/seed_0', (20, 0.91, 0.35))  # Kept without its evaluations.
  assert tables.evaluations_table(tables.gather(tmp_path, 'grid')) == [
    '| step | GAN seed 1: modes, high quality, reverse KL | PacGAN2 seed 0 |',
    '| ---: | --- | --- |',
    '| 20,000 | 16, 45.9%, 0.50 | 24, 35.6%, 0.06 |',
    '| 40,000 | 19, 74.7%, 0.51 | — |',
  ]


def _results_file(path):
  begin, end = tables.markers('grid', 'rows')
  path.write_text(f'# Results\n\nBefore.\n\n{begin}\n\n| old | table |\n\n{end}\n\nAfter.\n')
  return path


def test_writing_replaces_only_what_lies_between_the_tables_markers(tmp_path):
  results = _results_file(tmp_path / 'results.md')
  begin, end = tables.markers('grid', 'rows')
  text = tables.replace_between(results.read_text(), 'grid', 'rows', ['| new | table |'])
  assert text == f'# Results\n\nBefore.\n\n{begin}\n\n| new | table |\n\n{end}\n\nAfter.\n'
  assert tables.replace_between(text, 'grid', 'rows', ['| new | table |']) == text
  with pytest.raises(
    ValueError, match='one line "<!-- begin mode_collapse_2d_tables.py --dataset=ring: rows -->"'
  ):
    tables.replace_between(text, 'ring', 'rows', ['| new | table |'])


def test_the_command_writes_both_tables_and_refuses_a_folder_without_runs_before_writing(tmp_path):
  runs = tmp_path / 'runs'
  _keep(
    runs, 'GAN', 'grid/seed_0', (16, 0.90, 0.6), evaluations=[_evaluation(20_000, 17, 0.488, 0.46)]
  )
  results = tmp_path / 'results.md'
  markers = [tables.markers('grid', table) for table in tables.TABLES]
  results.write_text(''.join(f'{begin}\n{end}\n\ntext\n\n' for begin, end in markers))
  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(ValueError, match='keeps no finished grid run'):
    tables.main(['--dataset=grid', f'--results_dir={empty}', f'--write={results}'])
  with pytest.raises(ValueError, match='is not a file'):
    tables.main(['--dataset=grid', f'--results_dir={runs}', f'--write={tmp_path / "none.md"}'])
  assert results.read_text().count('|') == 0
  tables.main(['--dataset=grid', f'--results_dir={runs}', f'--write={results}'])
  text = results.read_text()
  assert '| GAN | 400,000 | 1 | 16.0 | 90.0% | 0.60 |' in text
  assert '| 20,000 | 17, 48.8%, 0.46 |' in text
  assert text.count('text') == 2
