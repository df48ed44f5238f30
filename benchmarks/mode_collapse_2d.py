"""The 2-D mode-collapse benchmark of PacGAN (Lin et al. 2018), Table 1.

Run by hand from anywhere (the script puts the repo root on sys.path):

  python benchmarks/mode_collapse_2d.py                  # the config's runs
  python benchmarks/mode_collapse_2d.py --steps 200 --seeds 2 --dataset ring \\
      --config.results_dir=/tmp/mc2d                     # a smoke run
  python benchmarks/mode_collapse_2d.py --processes 2    # two runs at a time, a core each
  python benchmarks/mode_collapse_2d.py --together       # seeds as one program (a GPU)

Each run is one `train_and_evaluate` of the toy 2-D family
(`jaxgan.families.toy2d`: PacGAN's 2-D networks with the classic GAN step)
on a fixed set of 100,000 points of the ring (8 Gaussians on the unit
circle, sigma 0.01) or the grid (25 Gaussians on {-4, -2, 0, 2, 4}^2, sigma
0.05), in its own workdir under `runs/mode_collapse_2d/` (so an interrupted
benchmark resumes where it stopped); the loop's evaluation at the last step
scores 2,500 generated points (`jaxgan.eval.mode_coverage`): modes captured,
the fraction of high-quality samples (within 3 sigma of the nearest mode)
and KL(generated mode histogram || uniform). The table gives mean +-
standard error over seeds beside the published rows, and goes with the
command, date, wall time, each run's speed (summed over the commands that
trained it: `benchmarks/training_time.py`) and a table of every run's
evaluations along the way (every `config.eval_every` steps) to
`<results_dir>/mode_collapse_2d.md`; seed 0
of each dataset also leaves its scatter plot of real and generated points
there. With `--together`, a dataset's seeds train as one program
(`benchmarks/seeds_together.py`: the same runs, to float rounding, with
their steps taken at once), in one workdir per dataset: for a GPU, which
one run of these small networks leaves idle between kernels. On a CPU,
`--processes 2` is 1.6 times as fast (benchmarks/results/speed.md): XLA:CPU
splits these small products poorly over two cores, so each run gets one
(and logs to `train.log` in its workdir).
A run's figures depend on its core count through rounding; compare rows
made either way only as means over seeds.

A run that finishes is kept beside the report, in `<stem>_runs.json`
(`benchmarks/finished_runs.py`), and a later command counts it rather than
train it again, its workdir there or not: a run at PacGAN's length takes
longer than some machines last, so a row's seeds may be trained on several
(`--seeds 3` after `--seeds 2` trains seed 2 alone). `--together` keeps its
runs too, but trains every seed it is asked for.

A variant (PacGAN2/3/4, minibatch discrimination, feature matching,
WGAN-GP) is a config that imports `benchmarks/configs/gan_2d.py` and changes
`name`, `variant` and the fields of its option:

  python benchmarks/mode_collapse_2d.py \\
      --config=benchmarks/configs/pacgan2_2d.py --seeds 3

Its full report and scatter plots go to
`<results_dir>/mode_collapse_2d_<variant>.md` and `..._<variant>_<dataset>_seed0.png`,
and its summary row to the variant table at the end of
`<results_dir>/mode_collapse_2d.md` (`benchmarks/variant_rows.py`), which a
rerun of the GAN row keeps.
"""

import datetime
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging as absl_logging
import jax
import ml_collections
from ml_collections import config_flags
import numpy as np

from benchmarks import finished_runs
from benchmarks import seeds_together
from benchmarks import training_time
from benchmarks import variant_rows
from jaxgan import data
from jaxgan.eval import metrics
from jaxgan.train import evaluation
from jaxgan.train import images
from jaxgan.train import preemption
from jaxgan.train import reporting
from jaxgan.train import workdir as workdir_lib

_CONFIG = config_flags.DEFINE_config_file(
  'config',
  os.path.join(ROOT, 'benchmarks', 'configs', 'gan_2d.py'),
  'The benchmark config.',
  lock_config=True,
)
_STEPS = flags.DEFINE_integer(
  'steps', None, 'Train steps per run; overrides config.num_steps (see set_num_steps).'
)
_SEEDS = flags.DEFINE_integer('seeds', None, 'Runs per dataset; overrides config.num_seeds.')
_DATASET = flags.DEFINE_enum(
  'dataset', None, ['ring', 'grid', 'both'], 'Datasets to run; overrides config.dataset.'
)
_TOGETHER = flags.DEFINE_bool(
  'together',
  False,
  "Train a dataset's seeds together, as one program (benchmarks/seeds_together.py): the same "
  'runs, each step taken by all of them at once; for a GPU, where one run leaves it idle.',
)
_PROCESSES = flags.DEFINE_integer(
  'processes',
  1,
  'Runs at a time, each in a process of its own pinned to one CPU core: on a CPU, where one '
  'run of these small networks keeps a second core poorly busy (2 at a time on 2 cores train '
  '1.6 times as many steps per second as 1).',
)
_WORKDIR_ROOT = flags.DEFINE_string(
  'workdir_root',
  None,
  'Each run trains in <workdir_root>/<dataset>/seed_S, resuming if it holds checkpoints; '
  'default runs/mode_collapse_2d/<variant or gan> under the repo root.',
)

RESULTS_FILE = 'mode_collapse_2d.md'
# The variant table at the end of RESULTS_FILE: one row per variant.
VARIANT_TITLE = 'Variants: remedies for mode collapse'
VARIANT_INTRO = (
  'Each row is a config in `benchmarks/configs/` that imports `gan_2d.py` and changes only '
  'its option (and name): same networks, data and evaluation as the GAN row above, for the '
  'steps and seeds its row gives, mean ± standard error over its seeds (compare within the '
  'errors). Its report (per-seed figures, scatter plots, the setup) is the '
  'file linked in its last cell, beside this one. Published rows: the table above.'
)
VARIANT_HEADER = (
  '| Method | Steps per run | Seeds | 2D-ring modes (max 8) | 2D-ring high quality '
  '| 2D-ring reverse KL | 2D-grid modes (max 25) | 2D-grid high quality '
  '| 2D-grid reverse KL | Command; date; wall time; report |\n'
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'
)
# The mixtures by the benchmark's dataset names: the data source, and the
# table's title.
MIXTURES = {'ring': (data.RING2D, '2D-ring'), 'grid': (data.GRID2D, '2D-grid')}


class Summary(NamedTuple):
  """Mean and standard error of each statistic over seeds."""

  modes: tuple[float, float]
  high_quality: tuple[float, float]
  reverse_kl: tuple[float, float]


class Published(NamedTuple):
  """A cell of PacGAN's Table 1: mean and standard error over its 10 trials."""

  mean: float
  error: float


# PacGAN trained every row for 400 epochs of 100,000 examples, 100 a step,
# an example being a pack of m points (fjxmlzn/PacGAN's GaussianPackingMixture).
PUBLISHED_STEPS = 400_000

# Every report names where its published rows come from; high quality in percent.
PUBLISHED_SOURCE = (
  "Published rows: every row of PacGAN's Table 1 (Lin et al., NeurIPS 2018) as the authors' "
  'repository shows it (fjxmlzn/PacGAN, `synthetic_data_experiments/results/Table1.png`), '
  'mean ± standard error over 10 trials.'
)
PUBLISHED: dict[str, dict[str, tuple[Published, Published, Published]]] = {
  'GAN': {
    'ring': (Published(6.3, 0.5), Published(98.2, 0.2), Published(0.45, 0.09)),
    'grid': (Published(17.3, 0.8), Published(94.8, 0.7), Published(0.70, 0.07)),
  },
  'ALI': {
    'ring': (Published(6.6, 0.3), Published(97.6, 0.4), Published(0.36, 0.04)),
    'grid': (Published(24.1, 0.4), Published(95.7, 0.6), Published(0.14, 0.03)),
  },
  'PacGAN2': {
    'ring': (Published(7.9, 0.1), Published(95.6, 2.0), Published(0.07, 0.03)),
    'grid': (Published(23.8, 0.7), Published(91.3, 0.8), Published(0.13, 0.04)),
  },
  'PacGAN3': {
    'ring': (Published(7.8, 0.1), Published(97.7, 0.3), Published(0.10, 0.02)),
    'grid': (Published(24.6, 0.4), Published(94.2, 0.4), Published(0.06, 0.02)),
  },
  'PacGAN4': {
    'ring': (Published(7.8, 0.1), Published(95.9, 1.4), Published(0.07, 0.02)),
    'grid': (Published(24.8, 0.2), Published(93.6, 0.6), Published(0.04, 0.01)),
  },
}


def run_key(dataset: str, seed: int) -> str:
  """A run's name among a report's kept runs (`finished_runs`)."""
  return f'{dataset}/seed_{seed}'


def mode_statistics(figures: dict[str, float]) -> metrics.ModeStatistics:
  """A run's mode statistics from its evaluation's figures (`metrics.json`)."""
  return metrics.ModeStatistics(
    int(figures['modes']), figures['high_quality'], figures['reverse_kl']
  )


def _figures(statistics: metrics.ModeStatistics) -> dict[str, float]:
  return {
    'modes': int(statistics.modes_captured),
    'high_quality': float(statistics.high_quality_fraction),
    'reverse_kl': float(statistics.reverse_kl),
  }


def run_config(config: ml_collections.ConfigDict, dataset: str, seed: int):
  """The config of one run: the benchmark's, on one dataset, with one seed."""
  run = ml_collections.ConfigDict(config.to_dict())
  run.data.source = MIXTURES[dataset][0]
  run.seed = seed
  return run


class Scored(NamedTuple):
  """A finished run, read from its workdir."""

  statistics: metrics.ModeStatistics
  # Its training time, summed over the calls that trained it (`training_time`).
  record: training_time.TrainingTime
  # Its last scatter plot.
  plot: str
  # Its evaluations along the way (`jaxgan.train.evaluation.read_evaluations`).
  evaluations: list[dict[str, float]]


class RunStopped(Exception):
  """A run that a signal (SIGTERM, Ctrl-C) stopped before its last step; it saved first."""


def train_and_score(config: ml_collections.ConfigDict, workdir: str) -> Scored:
  """Trains (or resumes, or finds finished) one run and reads its evaluations.

  Raises:
    FloatingPointError: if the losses stop being finite.
    RunStopped: if a signal stopped the run before its last step.
  """
  record = training_time.train(config, workdir)
  path = os.path.join(workdir, 'metrics.json')
  report = None
  if os.path.exists(path):
    with open(path) as f:
      report = json.load(f)
  if report is None or report['step'] != config.num_steps:
    # The loop returns early only when a signal stopped it, after saving.
    raise RunStopped(
      f'The run in {workdir} was stopped by a signal before step {config.num_steps:,}, and '
      'saved: run the same command again to resume it (finished runs are not trained again).'
    )
  return Scored(
    mode_statistics(report['metrics']),
    record,
    os.path.join(workdir, 'samples', f'step_{config.num_steps:07d}.png'),
    evaluation.read_evaluations(workdir_lib.Workdir(workdir)),
  )


def train_together(
  config: ml_collections.ConfigDict, dataset: str, workdir: str, stem: str, command: str
) -> tuple[list[metrics.ModeStatistics], float]:
  """Every seed of one dataset trained as one program; seed 0's plot to the results.

  Each run is kept (`finished_runs`), for a later command without --together
  to count; this one trains every seed, kept or not.

  Returns:
    Each seed's mode statistics, and the steps per second of all seeds
    together (0 if the runs were found finished).
  """
  seeds = range(config.num_seeds)
  runs, speed = seeds_together.train_seeds_together(
    [run_config(config, dataset, seed) for seed in seeds],
    os.path.join(workdir, f'seeds_0-{config.num_seeds - 1}_together'),
  )
  results_dir = os.path.join(ROOT, config.results_dir)
  stats = []
  for run in runs:
    figures = run.metrics
    stats.append(mode_statistics(figures))
    finished_runs.keep(
      results_dir,
      stem,
      run_key(dataset, run.seed),
      run_config(config, dataset, run.seed),
      metrics=_figures(stats[-1]),
      record=None,
      command=command,
      note="trained with its dataset's other seeds as one program (--together), "
      'whose time is not split between them',
    )
    print(
      f'{dataset} seed {run.seed}: {figures["modes"]} modes, '
      f'{100 * figures["high_quality"]:.1f}% high quality, '
      f'reverse KL {figures["reverse_kl"]:.3f}',
      flush=True,
    )
  images.save_png(os.path.join(results_dir, f'{stem}_{dataset}_seed0.png'), runs[0].picture)
  print(f'{dataset}: {config.num_seeds} seeds together at {speed:.1f} steps/s', flush=True)
  return stats, speed


def check_processes(processes: int) -> list[int]:
  """The cores this process may use; ValueError unless `processes` of them are there."""
  cores = sorted(os.sched_getaffinity(0))
  if not 1 <= processes <= len(cores):
    raise ValueError(
      f'--processes={processes}, but this process may use {len(cores)} CPU cores; use 1 to '
      f'{len(cores)}.'
    )
  return cores


def _train_and_score_job(job: tuple[ml_collections.ConfigDict, str]):
  return train_and_score(*job)


# Under --processes, each run's log, in its workdir.
WORKER_LOG = 'train.log'


def _log_to(path: str) -> None:
  """Sends this process's stderr, the loop's log lines with it, to the end of `path`."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  sys.stderr.flush()
  descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
  os.dup2(descriptor, sys.stderr.fileno())
  os.close(descriptor)


def _stop_when_the_benchmark_ends() -> None:
  """Sends this worker SIGTERM once the benchmark's process has ended, however it ended.

  A benchmark killed outright (kill -9, the OOM killer) passes no stop on:
  without this its workers would train on, orphaned, with nowhere to send
  their outcomes. With it their runs save and stop as after `kill PID`.
  """
  benchmark = multiprocessing.parent_process()

  def watch():
    multiprocessing.connection.wait([benchmark.sentinel])
    absl_logging.warning(
      'The benchmark (process %d) has ended: stopping this run so that it saves.', benchmark.pid
    )
    os.kill(os.getpid(), signal.SIGTERM)

  threading.Thread(target=watch, name='stop-when-the-benchmark-ends', daemon=True).start()


def _send(results, item) -> bool:
  """Sends `item` to the benchmark; False if the benchmark has ended and cannot take it."""
  try:
    results.send(item)
  except (BrokenPipeError, ConnectionResetError):
    return False
  return True


def _worker(core: int, jobs: list[tuple[ml_collections.ConfigDict, str]], results) -> None:
  """A worker process: its jobs in order on one core, each outcome or exception to `results`.

  It leaves the benchmark's process group first, so that Ctrl-C reaches the
  benchmark alone, which passes it on as SIGTERM: the worker then sees each
  stop once, however it was asked (a second SIGINT would stop a run without
  saving). A SIGTERM between runs stops it before its next run, and so does
  the benchmark's end (`_stop_when_the_benchmark_ends`). Each run logs to
  `WORKER_LOG` in its workdir: the runs' lines side by side on one terminal
  (or two progress bars on one line) could not be told apart.
  """
  os.setpgrp()
  os.sched_setaffinity(0, {core})
  flags.FLAGS.mark_as_parsed()  # It takes none; unparsed, absl warns at its first line.
  absl_logging.use_absl_handler()
  absl_logging.set_verbosity(absl_logging.INFO)
  reporting.quiet_library_logs()
  between_runs = preemption.StopRequest()
  with between_runs.installed():
    _stop_when_the_benchmark_ends()
    for job in jobs:
      if between_runs.requested_here():
        break
      _log_to(os.path.join(job[1], WORKER_LOG))
      try:
        outcome = _train_and_score_job(job)
      except Exception as error:  # pylint: disable=broad-except
        # Sent as it is (RunStopped, FloatingPointError) or, if it does not
        # pickle, in words.
        try:
          _send(results, error)
        except Exception:  # pylint: disable=broad-except
          _send(results, RuntimeError(f'{type(error).__name__}: {error}'))
        break
      if not _send(results, outcome):
        break
  results.close()


def train_and_score_each(
  jobs: list[tuple[ml_collections.ConfigDict, str]], *, processes: int
) -> Iterator[Scored]:
  """`train_and_score(config, workdir)` of each job, in order, `processes` at a time.

  With more than one process, job i goes to worker i % processes, each
  pinned to a core of its own before jax starts in it (so that XLA's threads
  of one run never wait on another's), keeping its compiled step for its next
  run. A SIGTERM or Ctrl-C to this process is passed on to the workers as
  SIGTERM: their runs save and stop, and RunStopped comes out here once
  every worker has ended. So does an error in a run, after the other
  workers are stopped the same way.

  Raises:
    ValueError: for more processes than this process may use cores, before
      any run starts.
    RunStopped: if a signal stopped the runs.
  """
  if processes <= 1 or not jobs:
    return map(_train_and_score_job, jobs)
  cores = check_processes(processes)

  def outcomes():
    context = multiprocessing.get_context('spawn')
    workers = []
    for index, core in enumerate(cores[:processes]):
      receiver, sender = context.Pipe(duplex=False)
      worker = context.Process(target=_worker, args=(core, jobs[index::processes], sender))
      worker.start()
      sender.close()  # The worker's end: once it exits, a read here ends in EOFError.
      workers.append((worker, receiver))
    stop = preemption.StopRequest()

    def stop_workers():
      for worker, _ in workers:
        if worker.is_alive():
          os.kill(worker.pid, signal.SIGTERM)

    forwarded = finished = False
    try:
      with stop.installed():
        for index in range(len(jobs)):
          worker, receiver = workers[index % processes]
          # Short waits, so that a signal to this process is passed on at once.
          while not receiver.poll(0.5):
            if stop.requested_here() and not forwarded:
              stop_workers()
              forwarded = True
          try:
            outcome = receiver.recv()
          except EOFError:
            worker.join()
            if stop.requested_here():
              raise RunStopped(
                f'{stop.signal_name} stopped the benchmark before the run in {jobs[index][1]} '
                'started: run the same command again to resume (finished runs are not '
                'trained again).'
              ) from None
            raise RuntimeError(
              f'The worker process on core {cores[index % processes]} ended (exit code '
              f'{worker.exitcode}) without the outcome of the run in {jobs[index][1]}.'
            ) from None
          if isinstance(outcome, BaseException):
            raise outcome
          yield outcome
      finished = True
    finally:
      # A stop, an error or an abandoned benchmark: the workers' runs save first.
      if not finished:
        stop_workers()
      for worker, _ in workers:
        worker.join()

  return outcomes()


def summarise(stats: list[metrics.ModeStatistics]) -> Summary:
  """Mean and standard error (std with ddof 1 over sqrt(n)) over seeds."""

  def mean_error(values):
    values = np.asarray(values, np.float64)
    error = values.std(ddof=1) / math.sqrt(values.size) if values.size > 1 else float('nan')
    return float(values.mean()), float(error)

  return Summary(
    modes=mean_error([s.modes_captured for s in stats]),
    high_quality=mean_error([100.0 * s.high_quality_fraction for s in stats]),
    reverse_kl=mean_error([s.reverse_kl for s in stats]),
  )


def _cell(mean_error: tuple[float, float], fmt: str, suffix: str = '') -> str:
  mean, error = mean_error
  if math.isnan(error):
    return f'{mean:{fmt}}{suffix}'
  return f'{mean:{fmt}} ± {error:{fmt}}{suffix}'


def mean_error_cells(figures: Sequence[tuple[float, float]]) -> list[str]:
  """A row's modes, high quality (%) and reverse KL, each (mean, error), as table cells.

  For our rows (a `Summary`) and the published ones alike; the mean alone
  where the error is NaN (one seed).
  """
  formats = (('.1f', ''), ('.1f', '%'), ('.2f', ''))
  return [_cell(figure, fmt, suffix) for figure, (fmt, suffix) in zip(figures, formats)]


def results_table(
  name: str, summaries: dict[str, Summary], *, num_steps: int, num_seeds: int
) -> str:
  """The Markdown table: our row, then PacGAN's published rows."""
  header = (
    '| Method | Source | Steps per run | Seeds | 2D-ring modes (max 8) '
    '| 2D-ring high quality | 2D-ring reverse KL '
    '| 2D-grid modes (max 25) | 2D-grid high quality '
    '| 2D-grid reverse KL |'
  )
  lines = [header, '|' + ' --- |' * 2 + ' ---: |' * 8]
  ours = []
  for dataset in ('ring', 'grid'):
    if dataset in summaries:
      ours += mean_error_cells(summaries[dataset])
    else:
      ours += ['—'] * 3
  lines.append(
    f'| {name} | jaxgan (this run) | {num_steps:,} | {num_seeds} | ' + ' | '.join(ours) + ' |'
  )
  for method, rows in PUBLISHED.items():
    cells = mean_error_cells(rows['ring']) + mean_error_cells(rows['grid'])
    lines.append(
      f'| {method} | PacGAN Table 1 | {PUBLISHED_STEPS:,} | 10 | ' + ' | '.join(cells) + ' |'
    )
  return '\n'.join(lines)


def set_num_steps(config: ml_collections.ConfigDict, num_steps: int) -> None:
  """Makes `config` train `num_steps` steps a run (what --steps does).

  The evaluation and plot that the config makes at its end (an interval
  equal to its num_steps) move to the new end: the last evaluation is the
  benchmark's figure. Other intervals are kept, whether the config's or set
  on the command line: checkpoints, so that a long run that stops resumes
  near where it stopped, and e.g. `--config.eval_every=20000` for a curve
  over a long run. Calls shrink to a divisor of `num_steps`.
  """
  for field in ('eval_every', 'sample_every'):
    if config[field] == config.num_steps:
      config[field] = num_steps
  config.num_steps = num_steps
  config.steps_per_call = math.gcd(config.steps_per_call, num_steps)


def main(argv: list[str]) -> None:
  del argv
  reporting.quiet_library_logs()
  config = _CONFIG.value
  with config.unlocked():
    if _STEPS.value is not None:
      set_num_steps(config, _STEPS.value)
    if _SEEDS.value is not None:
      config.num_seeds = _SEEDS.value
    if _DATASET.value is not None:
      config.dataset = _DATASET.value
  processes = _PROCESSES.value
  if _TOGETHER.value and processes > 1:
    raise ValueError('--together trains all seeds in one process: drop --processes or --together.')
  check_processes(processes)
  if config.dataset not in ('ring', 'grid', 'both'):
    raise ValueError(f"config.dataset = {config.dataset!r}; use 'ring', 'grid' or 'both'.")
  datasets = ['ring', 'grid'] if config.dataset == 'both' else [config.dataset]
  command = 'python ' + ' '.join(shlex.quote(a) for a in sys.argv)
  started = datetime.datetime.now(datetime.timezone.utc)
  wall_start = time.monotonic()

  results_dir = os.path.join(ROOT, config.results_dir)
  os.makedirs(results_dir, exist_ok=True)
  stem = f'mode_collapse_2d_{config.variant}' if config.variant else 'mode_collapse_2d'
  workdir_root = _WORKDIR_ROOT.value or os.path.join(
    ROOT, 'runs', 'mode_collapse_2d', config.variant or 'gan'
  )

  summaries, per_seed, speeds, records, kept_lines = {}, {}, [], [], []
  # Each run's evaluations along the way, by its name in the report.
  along_the_way = {}
  if _TOGETHER.value:
    try:
      for dataset in datasets:
        stats, speed = train_together(
          config, dataset, os.path.join(workdir_root, dataset), stem, command
        )
        speeds.append(speed)
        per_seed[dataset] = stats
    except seeds_together.Stopped as stopped:
      sys.exit(str(stopped))
  else:
    runs = [(dataset, seed) for dataset in datasets for seed in range(config.num_seeds)]
    configs = {(dataset, seed): run_config(config, dataset, seed) for dataset, seed in runs}
    kept = {}
    for run in runs:
      found = finished_runs.find(results_dir, stem, run_key(*run), configs[run])
      if found is not None:
        kept[run] = found
    jobs = [
      (configs[dataset, seed], os.path.join(workdir_root, dataset, f'seed_{seed}'))
      for dataset, seed in runs
      if (dataset, seed) not in kept
    ]
    if kept:
      print(finished_runs.counted_message(len(kept), len(runs), results_dir, stem), flush=True)
    if processes > 1 and jobs:
      print(
        f'{len(jobs)} runs, {processes} at a time: each logs to <its workdir>/{WORKER_LOG}, '
        f'under {workdir_root}.',
        flush=True,
      )
    outcomes = iter(train_and_score_each(jobs, processes=processes))
    try:
      for dataset, seed in runs:
        name = f'{MIXTURES[dataset][1]} seed {seed}'
        if (dataset, seed) in kept:
          found = kept[dataset, seed]
          statistics, record = mode_statistics(found.metrics), found.training_time
          evaluations = found.evaluations
          kept_lines.append(finished_runs.describe(name, found))
        else:
          statistics, record, plot, evaluations = next(outcomes)
          finished_runs.keep(
            results_dir,
            stem,
            run_key(dataset, seed),
            configs[dataset, seed],
            metrics=_figures(statistics),
            record=record,
            command=command,
            evaluations=evaluations,
          )
          if seed == 0:
            shutil.copyfile(plot, os.path.join(results_dir, f'{stem}_{dataset}_seed0.png'))
        along_the_way[name] = evaluations
        records.append(record)
        per_seed.setdefault(dataset, []).append(statistics)
        print(
          f'{dataset} seed {seed}: {statistics.modes_captured} modes, '
          f'{100 * statistics.high_quality_fraction:.1f}% high quality, '
          f'reverse KL {statistics.reverse_kl:.3f}; {training_time.describe(record)}'
          + (' (kept)' if (dataset, seed) in kept else ''),
          flush=True,
        )
    except RunStopped as stopped:
      sys.exit(str(stopped))
  summaries = {dataset: summarise(stats) for dataset, stats in per_seed.items()}

  wall = time.monotonic() - wall_start
  table = results_table(
    config.name, summaries, num_steps=config.num_steps, num_seeds=config.num_seeds
  )
  print(table)
  _write_results(
    os.path.join(results_dir, f'{stem}.md'),
    config=config,
    command=command,
    started=started,
    wall=wall,
    table=table,
    per_seed=per_seed,
    speeds=speeds,
    records=records,
    stem=stem,
    together=_TOGETHER.value,
    processes=processes,
    kept=kept_lines,
    along_the_way=along_the_way,
  )
  if config.variant:
    cells = []
    for dataset in ('ring', 'grid'):
      if dataset in summaries:
        cells += mean_error_cells(summaries[dataset])
      else:
        cells += ['—'] * 3
    run = (
      f'`{command}`; {started:%Y-%m-%d %H:%M} UTC; {training_time.time_taken(wall, records)}; '
      f'[{stem}.md]({stem}.md)'
    )
    variant_rows.upsert_row(
      os.path.join(results_dir, RESULTS_FILE),
      title=VARIANT_TITLE,
      intro=VARIANT_INTRO,
      header=VARIANT_HEADER,
      key=config.name,
      row=f'| {config.name} | {config.num_steps:,} | {config.num_seeds} | '
      + ' | '.join(cells)
      + f' | {run} |',
    )
    print(f'Updated the {config.name} row of {os.path.join(results_dir, RESULTS_FILE)}')


def evaluations_table(along_the_way: dict[str, Sequence[dict[str, float]]]) -> list[str]:
  """Runs' evaluations as a Markdown table: a row per step, a column per run that has any.

  A step that a run did not evaluate (a stop skipped it, or it was made
  before the loop recorded evaluations) is '—' in its column.
  """
  columns = {
    name: {int(made['step']): made for made in evaluations}
    for name, evaluations in along_the_way.items()
    if evaluations
  }
  if not columns:
    return []

  def cell(made: dict[str, float] | None) -> str:
    if made is None:
      return '—'
    return f'{int(made["modes"])}, {100 * made["high_quality"]:.1f}%, {made["reverse_kl"]:.2f}'

  steps = sorted(set().union(*columns.values()))
  return [
    '| step | ' + ' | '.join(columns) + ' |',
    '| ---: |' + ' --- |' * len(columns),
    *(
      f'| {step:,} | ' + ' | '.join(cell(made.get(step)) for made in columns.values()) + ' |'
      for step in steps
    ),
  ]


def _widths(first: int, hidden, last: int) -> str:
  return '-'.join(str(w) for w in (first, *hidden, last))


def _options(config: ml_collections.ConfigDict) -> str:
  """The run's loss and remedies, in words."""
  words = [f'{config.loss.replace("_", "-")} loss']
  if config.packing > 1:
    words.append(
      f'PacGAN packing m = {config.packing} (D judges {config.batch_size // config.packing} '
      f'packs of {config.packing} points per batch)'
    )
  if config.minibatch_discrimination:
    words.append(
      f'minibatch discrimination with B = {config.minibatch_discrimination} kernels of '
      f'C = {config.minibatch_discrimination_dim} on the last maxout layer'
    )
  if config.feature_matching != 'none':
    how = "as G's only loss" if config.feature_matching == 'replace' else "added to G's loss"
    words.append(f'feature matching on the last maxout layer, {how}')
  if config.gradient_penalty:
    words.append(f'gradient penalty, lambda = {config.gradient_penalty:g}')
  if config.critic_steps > 1:
    words.append(f'{config.critic_steps} D updates per G update')
  if config.simultaneous_updates:
    words.append('simultaneous D and G updates from one forward pass')
  if config.generator_passes > 1:
    words.append(
      f'G makes each batch in {config.generator_passes} passes, each with BatchNorm '
      'statistics of its own'
    )
  return '; '.join(words)


def _differences(config: ml_collections.ConfigDict) -> str:
  """How the runs differ from PacGAN's, numbered: their length only when it falls short."""
  differences = [
    'The step passes real and fake batches through D separately; PacGAN concatenates them, '
    'which is the same thing for a D without BatchNorm.',
  ]
  # PacGAN's GaussianPackingMixture: each run (its Fuel seed drawn at random)
  # draws its points, and from them, once, its training set of packs.
  num_points, m = data.mixtures.NUM_POINTS, config.packing
  if m == 1:
    what, theirs, ours = (
      'points',
      f'and trains on {num_points:,} drawn from them once, with replacement (about 63% of '
      'them distinct)',
      ', so a run sees each point once an epoch',
    )
  else:
    what, theirs, ours = (
      'packs',
      f'and from them, once, {num_points:,} packs of {m} points drawn with replacement',
      f" and packed {m} consecutive points at a time, so a pack's points change from epoch "
      'to epoch',
    )
  differences.append(
    f'The real {what}: each PacGAN run draws {num_points:,} points of its own {theirs}, '
    f"shuffled each epoch; jaxgan's runs share one draw of {num_points:,} points, shuffled "
    f'each epoch{ours}.'
  )
  # With config.simultaneous_updates the update is PacGAN's own.
  if not config.simultaneous_updates:
    differences.insert(
      0,
      'The update: `jaxgan.families.classic.step` alternates, one D step and then one G step '
      "through the updated D with fresh z (Goodfellow et al. 2014, Algorithm 1); PacGAN's code "
      "(ALI's `ali_algorithm`) takes both gradients from one forward pass and updates D and G "
      'at once (`--config.simultaneous_updates=True --config.generator_reuses_fakes=True` '
      'trains that way).',
    )
  if config.packing > 1 and config.generator_passes != config.packing:
    passes = 'one pass' if config.generator_passes == 1 else f'{config.generator_passes} passes'
    differences.append(
      f'G makes the {config.batch_size} points of a batch in {passes}, each normalised '
      f"with one set of BatchNorm statistics; PacGAN's code runs G once for each of the "
      f'{config.packing} points of a pack, {config.batch_size // config.packing} z at a time, '
      f'each pass with statistics of its own (--config.generator_passes={config.packing} '
      'trains that way).'
    )
  num_steps = config.num_steps
  if num_steps < PUBLISHED_STEPS:
    differences.insert(
      0,
      f'The training length ({num_steps:,} steps against {PUBLISHED_STEPS:,}), so our rows show '
      "early training, not PacGAN's runs.",
    )
  numbered = ' '.join(f'({i}) {text}' for i, text in enumerate(differences, 1))
  return f'Differences from the published setup: {numbered}'


def _write_results(
  path: str,
  *,
  config: ml_collections.ConfigDict,
  command: str,
  started: datetime.datetime,
  wall: float,
  table: str,
  per_seed: dict[str, list[metrics.ModeStatistics]],
  speeds: list[float],
  records: list[training_time.TrainingTime],
  stem: str,
  together: bool,
  processes: int,
  kept: list[str],
  along_the_way: dict[str, Sequence[dict[str, float]]],
) -> None:
  """Writes the table, how it was made, the per-seed figures and their course.

  `kept` describes the runs counted from `finished_runs` rather than
  trained or found in their workdirs, one string each; `along_the_way`
  holds each run's evaluations before its last (`evaluations_table`).

  The GAN row's file keeps the variant table at its end (`variant_rows`).
  """
  optimizer = config.discriminator_optimizer
  if together:
    speed = (
      f'All {config.num_seeds} seeds of a dataset trained together as one program '
      f'(`--together`, benchmarks/seeds_together.py) at a median {np.median(speeds):.1f} steps/s, '
      'compilation included.'
    )
  else:
    timed = [r.steps_per_second for r in records if r.steps_per_second]
    speed = (
      f'Median speed {np.median(timed):.0f} steps/s per run (each over the commands that '
      f'trained it; {len(timed)} of {len(records)} runs timed), compilation and checkpoints '
      'included'
      if timed
      else 'No run has a record of its training time'
    )
    at_once = f', {processes} runs at a time, each pinned to a CPU core of its own.'
    speed += at_once if processes > 1 else '.'
  real_per_step = config.critic_steps * config.batch_size
  epochs = config.num_steps * real_per_step / data.mixtures.NUM_POINTS
  title = '# 2-D mode collapse (PacGAN Table 1 protocol)'
  lines = [
    f'{title}: {config.name}' if config.variant else title,
    '',
    f'- Command: `{command}` (from the repo root)',
    f'- Date: {started:%Y-%m-%d %H:%M} UTC',
    f'- Wall time: {training_time.time_taken(wall, records)} on {jax.device_count()} '
    f'{jax.devices()[0].platform.upper()} device(s), jax {jax.__version__}',
    f'- Training: {config.num_steps:,} steps of batch {config.batch_size} '
    f'per run, {config.critic_steps} D update(s) per step, each on its own real batch '
    f'({epochs:g} epochs of the {data.mixtures.NUM_POINTS:,}-point '
    f'training set); PacGAN trained {PUBLISHED_STEPS:,} steps of 100 examples (400 epochs '
    f'of 100,000, an example being a pack of m points). {speed}',
    f'- Options: {_options(config)}.',
    f'- Seeds: {config.num_seeds} per dataset; ours are mean ± standard error over them.',
    *finished_runs.report_lines(stem, kept),
    f'- Evaluation: {config.eval_samples:,} samples from G with '
    f'BatchNorm in inference mode; high quality = within 3 sigma of the '
    f'nearest mode; a mode is captured with at least one high-quality '
    f'sample; reverse KL (nats) = KL(generated mode histogram || uniform), '
    f'every sample assigned to its nearest mode.',
    '',
    table,
    '',
    PUBLISHED_SOURCE,
    '',
    f"{_differences(config)} Otherwise as in PacGAN's code (fjxmlzn/PacGAN): G "
    f'{_widths(config.latent_dim, config.generator_hidden, 2)} with '
    'bias-free hidden layers, BatchNorm (running-average momentum '
    f'{config.batch_norm_momentum:g}) and ReLU, linear output; D '
    f'{_widths(2 * config.packing, config.discriminator_hidden, 1)} with LinearMaxout '
    f'({config.maxout_pieces} pieces) hidden layers, no BatchNorm; weights '
    f'N(0, {config.init_stddev:g}^2), biases 0; Adam lr '
    f'{optimizer.learning_rate:g}, beta1 {optimizer.b1:g}, beta2 {optimizer.b2:g} '
    f'for both; batch {config.batch_size}; z ~ N(0, I_'
    f'{config.latent_dim}); a fixed training set of '
    f'{data.mixtures.NUM_POINTS:,} points per dataset.',
    '',
    'Per seed (modes / high quality % / reverse KL):',
    '',
  ]
  for dataset, stats in per_seed.items():
    cells = ', '.join(
      f'{s.modes_captured} / {100 * s.high_quality_fraction:.1f} / {s.reverse_kl:.2f}'
      for s in stats
    )
    lines.append(f'- {MIXTURES[dataset][1]}: {cells}')
  # A kept seed 0 brings no plot: its plot is here only if an earlier
  # command of this report copied it.
  plots = [f'{stem}_{d}_seed0.png' for d in per_seed]
  plots = [p for p in plots if os.path.exists(os.path.join(os.path.dirname(path), p))]
  lines += [
    '',
    'Scatter plots (seed 0; grey real, red generated, blue mode centres): '
    + (', '.join(f'`{p}`' for p in plots) if plots else 'none here'),
    '',
  ]
  table_along_the_way = evaluations_table(along_the_way)
  if table_along_the_way:
    lines += [
      'Evaluations along the way, each cell modes, high quality, reverse KL (from each '
      "run's `evaluations.jsonl`; runs kept before the loop recorded them have no column):",
      '',
      *table_along_the_way,
      '',
    ]
  text = '\n'.join(lines)
  if not config.variant:
    text = variant_rows.keep_section(path, text)
  with open(path, 'w') as f:
    f.write(text)
  print(f'Wrote {path}')


if __name__ == '__main__':
  app.run(main)
