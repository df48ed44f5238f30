"""Tests of benchmarks/mode_collapse_2d.py: --steps, benchmarks stopped by a signal, kept runs."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from benchmarks import mode_collapse_2d
from benchmarks import training_time
from benchmarks.configs import gan_2d
from jaxgan.train import experiment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_steps_move_the_end_events_and_keep_checkpoints_along_a_long_run():
  config = gan_2d.get_config()
  assert config.eval_every == config.sample_every == config.num_steps == 2_000
  mode_collapse_2d.set_num_steps(config, 400_000)
  assert config.num_steps == config.eval_every == config.sample_every == 400_000
  # A long run checkpoints along the way, so that one that stops resumes
  # near where it stopped rather than from the start.
  assert config.checkpoint_every == 10_000
  assert config.steps_per_call == 500
  experiment.check_loop_config(config, device_count=1, process_count=1)


def test_steps_keep_an_evaluation_interval_set_on_the_command_line():
  config = gan_2d.get_config()
  config.eval_every = config.sample_every = 20_000
  mode_collapse_2d.set_num_steps(config, 400_000)
  assert config.eval_every == config.sample_every == 20_000


@pytest.mark.parametrize('num_steps', [300, 1_250, 2_000])
def test_steps_that_calls_do_not_divide_shrink_the_calls(num_steps):
  config = gan_2d.get_config()
  mode_collapse_2d.set_num_steps(config, num_steps)
  assert num_steps % config.steps_per_call == 0
  experiment.check_loop_config(config, device_count=1, process_count=1)


def _differences(num_steps: int, **overrides) -> str:
  config = gan_2d.get_config()
  config.update(num_steps=num_steps, **overrides)
  return mode_collapse_2d._differences(config)


def test_the_report_counts_the_length_as_a_difference_only_when_it_falls_short():
  short = _differences(2_000)
  assert short.startswith(
    'Differences from the published setup: (1) The training length (2,000 steps'
  )
  assert '(3) The step passes' in short and '(5)' not in short
  published = _differences(400_000)
  assert 'training length' not in published and 'early training' not in published
  assert published.startswith('Differences from the published setup: (1) The update:')
  assert '(2) The step passes' in published and '(4)' not in published


def test_the_report_names_the_update_and_gs_batchnorm_only_where_they_differ():
  # PacGAN's update is simultaneous: trained so, it is no difference.
  simultaneous = _differences(400_000, simultaneous_updates=True, generator_reuses_fakes=True)
  assert 'The update' not in simultaneous
  assert simultaneous.startswith('Differences from the published setup: (1) The step passes')
  assert '(3)' not in simultaneous
  # Packed, G makes 300 points in one pass where PacGAN's code makes 3 x 100.
  packed = _differences(400_000, packing=3, batch_size=300)
  assert '(4) G makes the 300 points of a batch in one pass' in packed
  assert 'once for each of the 3 points of a pack, 100 z at a time' in packed
  assert 'G makes' not in _differences(400_000)
  # In as many passes as the packing, G runs as PacGAN's does.
  assert 'G makes' not in _differences(400_000, packing=3, batch_size=300, generator_passes=3)


def test_the_report_names_how_pacgans_code_draws_its_real_points_and_packs():
  # PacGAN's GaussianPackingMixture: N packs drawn once, with replacement.
  single = _differences(400_000)
  assert '(3) The real points: each PacGAN run draws 100,000 points of its own' in single
  assert 'drawn from them once, with replacement (about 63% of them distinct)' in single
  packed = _differences(400_000, packing=3, batch_size=300)
  assert '(3) The real packs: ' in packed
  assert 'once, 100,000 packs of 3 points drawn with replacement' in packed
  assert 'packed 3 consecutive points at a time' in packed and 'The real points' not in packed


def test_the_evaluations_table_has_a_row_per_step_and_a_column_per_run_with_any():
  ring_0 = [
    {'step': 20_000, 'modes': 6, 'high_quality': 0.879, 'reverse_kl': 0.5123},
    {'step': 40_000, 'modes': 8, 'high_quality': 0.9124, 'reverse_kl': 0.0312},
  ]
  # Seed 1 skipped step 20,000 (a stop); seed 2 was kept before evaluations were.
  ring_1 = [{'step': 40_000, 'modes': 7, 'high_quality': 1.0, 'reverse_kl': 0.2}]
  along = {'2D-ring seed 0': ring_0, '2D-ring seed 1': ring_1, '2D-ring seed 2': ()}
  assert mode_collapse_2d.evaluations_table(along) == [
    '| step | 2D-ring seed 0 | 2D-ring seed 1 |',
    '| ---: | --- | --- |',
    '| 20,000 | 6, 87.9%, 0.51 | — |',
    '| 40,000 | 8, 91.2%, 0.03 | 7, 100.0%, 0.20 |',
  ]
  assert mode_collapse_2d.evaluations_table({'2D-ring seed 2': ()}) == []


def _benchmark_command(tmp_path, *flags: str) -> list[str]:
  """The benchmark on the grid in small calls, its runs and results under `tmp_path`."""
  return [
    sys.executable,
    os.path.join(ROOT, 'benchmarks', 'mode_collapse_2d.py'),
    '--dataset=grid',
    f'--workdir_root={tmp_path / "runs"}',
    f'--config.results_dir={tmp_path / "results"}',
    '--config.steps_per_call=10',
    '--config.eval_samples=500',
    '--config.num_samples=200',
    *flags,
  ]


def test_a_stopped_benchmark_says_so_in_one_line_and_resumes(tmp_path):
  """SIGTERM mid-run: the run saves, the benchmark ends with one line, a rerun finishes.

  (--together's stop: tests/test_seeds_together.py, in-process.)
  """
  runs = tmp_path / 'runs'
  command = _benchmark_command(tmp_path, '--seeds=1', '--steps=400', '--config.log_every=10')
  process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
  lines = []
  for line in process.stderr:
    lines.append(line)
    if re.search(r'step 1\d\d/400', line):
      process.send_signal(signal.SIGTERM)
      break
  lines += process.communicate(timeout=300)[1].splitlines(keepends=True)
  assert process.returncode == 1, ''.join(lines[-30:])
  assert 'Traceback' not in ''.join(lines)
  assert lines[-1].startswith(f'The run in {runs}/grid/seed_0 was stopped by a signal'), lines[-1]
  assert 'saved: run the same command again to resume' in lines[-1]
  (saved,) = os.listdir(runs / 'grid' / 'seed_0' / 'checkpoints')
  assert 100 <= int(saved) < 400
  assert not any((tmp_path / 'results').iterdir())
  # The stopped call's time is kept, with the steps it saved.
  stopped = training_time.read(runs / 'grid' / 'seed_0')
  assert (stopped.steps, stopped.calls) == (int(saved), 1)

  resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f'step {int(saved) + 10}/400' in resumed.stderr
  assert 'step 10/400' not in resumed.stderr
  # The run's speed and time are over both calls, not the last one's seconds
  # for all 400 steps.
  record = training_time.read(runs / 'grid' / 'seed_0')
  assert (record.steps, record.calls) == (400, 2)
  assert record.seconds > stopped.seconds
  results = (tmp_path / 'results' / 'mode_collapse_2d.md').read_text()
  assert f'Median speed {record.steps_per_second:.0f} steps/s per run' in results
  assert '1 of 1 runs timed' in results
  assert f'({record.seconds / 60:.1f} min of training recorded for its runs in all)' in results


def _per_seed_line(results: str) -> str:
  (line,) = [line for line in results.splitlines() if line.startswith('- 2D-grid: ')]
  return line


def test_a_row_finishes_over_commands_whose_workdirs_are_gone(tmp_path):
  """Seed 0 is kept when it finishes; a later command counts it and trains seed 1 alone."""
  runs = tmp_path / 'runs'
  every_10 = '--config.eval_every=10'
  first = _benchmark_command(tmp_path, '--seeds=1', '--steps=20', every_10)
  done = subprocess.run(first, cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  results = tmp_path / 'results'
  seed_0 = _per_seed_line((results / 'mode_collapse_2d.md').read_text())
  kept = json.loads((results / 'mode_collapse_2d_runs.json').read_text())
  assert list(kept) == ['grid/seed_0']
  assert kept['grid/seed_0']['training_time']['steps'] == 20
  # Its evaluations along the way are kept with it, the last as reported.
  along = kept['grid/seed_0']['evaluations']
  assert [made['step'] for made in along] == [10, 20]
  assert along[-1] == {'step': 20, **kept['grid/seed_0']['metrics']}
  shutil.rmtree(runs)  # The machine that trained it is gone.

  second = _benchmark_command(tmp_path, '--seeds=2', '--steps=20', every_10)
  done = subprocess.run(second, cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  assert '1 of 2 runs are kept finished' in done.stdout
  assert os.listdir(runs / 'grid') == ['seed_1']
  report = (results / 'mode_collapse_2d.md').read_text()
  # Seed 0's figures as the first command reported them, then seed 1's.
  assert _per_seed_line(report).startswith(seed_0 + ', ')
  assert '- Kept runs, counted from `mode_collapse_2d_runs.json`' in report
  assert f'2D-grid seed 0 (kept {kept["grid/seed_0"]["kept_at"]} from `python ' in report
  assert '2 of 2 runs timed' in report
  # Both runs' courses, the kept one's from the kept file.
  assert '| step | 2D-grid seed 0 | 2D-grid seed 1 |' in report
  last = along[-1]
  (row,) = [line for line in report.splitlines() if line.startswith('| 20 | ')]
  assert row.startswith(
    f'| 20 | {last["modes"]}, {100 * last["high_quality"]:.1f}%, {last["reverse_kl"]:.2f} | '
  )
  assert list(json.loads((results / 'mode_collapse_2d_runs.json').read_text())) == [
    'grid/seed_0',
    'grid/seed_1',
  ]

  # Another init: no run of that config is kept, so both train.
  third = _benchmark_command(
    tmp_path, '--seeds=2', '--steps=20', every_10, '--config.init_stddev=0.05'
  )
  done = subprocess.run(third, cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  assert 'runs are kept finished' not in done.stdout
  assert '- Kept runs' not in (results / 'mode_collapse_2d.md').read_text()


def _state_and_parent(pid: int) -> tuple[str, int]:
  """Process `pid`'s state letter and parent's pid, from /proc (OSError if it is gone)."""
  with open(f'/proc/{pid}/stat') as f:
    state, parent = f.read().rsplit(')', 1)[1].split()[:2]  # After the command's name.
  return state, int(parent)


def _workers(pid: int) -> list[int]:
  """The worker processes that `pid` started with multiprocessing (not its resource tracker)."""
  workers = []
  for entry in os.listdir('/proc'):
    if entry.isdigit():
      try:
        _, parent = _state_and_parent(int(entry))
        with open(f'/proc/{entry}/cmdline') as f:
          command = f.read()
      except OSError:
        continue
      if parent == pid and 'spawn_main' in command:
        workers.append(int(entry))
  return workers


def _ended(pid: int) -> bool:
  """Whether process `pid` has exited (a zombie that its new parent has yet to reap counts)."""
  try:
    return _state_and_parent(pid)[0] == 'Z'
  except FileNotFoundError:
    return True


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason='--processes 2 needs 2 cores')
@pytest.mark.parametrize(
  'signal_to_benchmark', [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name
)
def test_a_signal_to_the_benchmark_alone_stops_and_saves_its_worker_processes(
  tmp_path, signal_to_benchmark
):
  """`kill PID` or `kill -9 PID` reaches only the benchmark; its workers' runs must save and end."""
  runs = tmp_path / 'runs'
  command = _benchmark_command(
    tmp_path,
    '--seeds=3',
    '--steps=4000',
    '--processes=2',
    '--config.sample_every=100',
    '--config.log_every=100',
  )
  with open(tmp_path / 'stderr', 'w+') as stderr:
    process = subprocess.Popen(command, cwd=ROOT, stderr=stderr, text=True)
    # Each worker is in training once it drew step 100's samples.
    firsts = [runs / 'grid' / f'seed_{seed}' / 'samples' / 'step_0000100.png' for seed in (0, 1)]
    deadline = time.monotonic() + 300
    while not all(path.exists() for path in firsts) and time.monotonic() < deadline:
      time.sleep(0.2)
    workers = _workers(process.pid)
    assert len(workers) == 2, workers
    process.send_signal(signal_to_benchmark)  # To this process only, not its group.
    process.wait(timeout=300)
    stderr.seek(0)
    lines = stderr.readlines()
  output = ''.join(lines)
  assert 'Traceback' not in output, output[-3000:]
  if signal_to_benchmark == signal.SIGTERM:
    assert process.returncode == 1, output[-3000:]
    assert lines[-1].startswith(f'The run in {runs}/grid/seed_0 was stopped by a signal'), lines[-1]
    # The benchmark waited for its workers.
    assert all(_ended(pid) for pid in workers)
  else:
    assert process.returncode == -signal.SIGKILL
    # Nothing waits for the workers: they see the benchmark end and stop.
    deadline = time.monotonic() + 120
    while not all(_ended(pid) for pid in workers) and time.monotonic() < deadline:
      time.sleep(0.2)
    assert all(_ended(pid) for pid in workers), 'workers outlived a killed benchmark'
  # Each run saved the step it had reached (its periodic checkpoints are every
  # 10,000 steps), with its time; the third never started.
  for seed in (0, 1):
    (saved,) = os.listdir(runs / 'grid' / f'seed_{seed}' / 'checkpoints')
    assert 100 <= int(saved) < 4000
    assert training_time.read(runs / 'grid' / f'seed_{seed}').steps == int(saved)
    # Its lines went to its own log, not the benchmark's.
    log = (runs / 'grid' / f'seed_{seed}' / mode_collapse_2d.WORKER_LOG).read_text()
    assert 'step 100/4000' in log and f'Stopped by SIGTERM at step {int(saved)}' in log, log[-2000:]
    assert 'Traceback' not in log, log[-3000:]
    if signal_to_benchmark == signal.SIGKILL:
      assert 'The benchmark (process' in log and 'has ended: stopping this run' in log
  assert 'step 100/4000' not in output
  assert not (runs / 'grid' / 'seed_2').exists()
