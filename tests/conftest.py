"""Fixtures shared by the test files, and a compilation cache for the session."""

import atexit
import fcntl
import os
import shutil
import tempfile


def _session_folder(variable: str, prefix: str) -> str:
  """A folder for this test session, named in the environment variable `variable`.

  The first process to load this file (pytest itself, or xdist's
  controller, which starts the workers with its environment) makes the
  folder and removes it at exit; the workers inherit it.
  """
  folder = os.environ.get(variable)
  if not folder:
    folder = tempfile.mkdtemp(prefix=prefix)
    os.environ[variable] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
  return folder


# Many tests train the same small configs, in this process, in the other
# xdist workers and in the subprocesses they start (a resumed run, another
# number of devices, a second host): a cache of compiled programs, shared
# through the environment, saves compiling each again. It lives for one
# test session only, so a run never depends on what an earlier one left.
_CACHE = _session_folder('JAXGAN_TEST_COMPILATION_CACHE', 'jaxgan-test-compilation-cache-')
# The same holds for the prepared MNIST (half a minute to prepare): one
# folder for every worker, prepared by the first under a lock.
_DATA_DIR = _session_folder('JAXGAN_TEST_DATA_DIR', 'jaxgan-test-tfds-')
os.environ.update(
  JAX_COMPILATION_CACHE_DIR=_CACHE,
  JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0',
  JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES='0',
)

# Most tests compile a step and run it a few times: compiling is most of
# their time, and two settings of XLA:CPU compile the same XLA program
# faster, so that values differ only by rounding: LLVM's -O0 (measured
# 2026-12-03 on 2 cores: the suite's worker time fell from 1,950 s to
# 1,590 s, with 7 tests more), and the older fusion emitters instead of the
# MLIR ones (2026-12-07, an AVX2-only EPYC: the 64x64 StyleGAN2 train
# step compiled in 18.9 s instead of 39.8 on one core, test_classic_step.py
# and test_stylegan_model.py took 140 s instead of 292, and the whole suite
# on two cores took 15.4 and 16.2 minutes in two runs instead of 20.2, with
# that day's changes to its tests).
# The process and the subprocesses it starts compile so (set here, before
# JAX's backend starts, for each setting the user did not choose); the
# tests marked `full_optimization` compile as a user's run does: the
# learning tests, whose hundreds of steps run a third slower at -O0 (the
# CycleGAN test's training took 146 s instead of 108), and the step
# checksums, recorded bit for bit at XLA's defaults.
#
# The flags the session was started with, kept in the environment by the
# first process to load this file: the xdist workers inherit XLA_FLAGS with
# the suite's settings already added, and must not take them for the user's.
_USER_XLA_FLAGS = os.environ.setdefault(
  'JAXGAN_TEST_USER_XLA_FLAGS', os.environ.get('XLA_FLAGS', '')
)
# Each setting: its flag, the suite's value, and XLA's DebugOptions default
# (DefaultDebugOptionsIgnoringFlags), which `full_optimization` passes per
# compilation, where it overrides XLA_FLAGS (a bool as a bool: XLA reads
# the string 'true' as no bool there).
_FAST_COMPILATION = (
  ('xla_backend_optimization_level', '0', '3'),
  ('xla_cpu_use_fusion_emitters', 'false', True),
)
_SUITE_XLA_FLAGS = [
  f'--{flag}={value}' for flag, value, _ in _FAST_COMPILATION if flag not in _USER_XLA_FLAGS
]
os.environ['XLA_FLAGS'] = ' '.join([_USER_XLA_FLAGS, *_SUITE_XLA_FLAGS]).strip()
_FULL_OPTIMIZATION = {
  flag: default for flag, _, default in _FAST_COMPILATION if flag not in _USER_XLA_FLAGS
}

import pytest  # pylint: disable=g-import-not-at-top

from jaxgan import data  # pylint: disable=g-import-not-at-top
from jaxgan.train import compilation  # pylint: disable=g-import-not-at-top


# CI runs the suite a second time on the versions Colab's TPU runtime
# preinstalls (`.ci/run`): all of it but the slow learning tests, which run
# once, and the tests of the benchmark scripts (marked `benchmark_scripts`):
# their worker processes, signals, time records and reports, which no Colab
# user runs, and whose training path (the loop, its stops and resumes) the
# loop's own tests cover on that stack. That pass took 5.5 minutes on 2
# cores without them and 6.4 with them (AVX-512 EPYC, 2026-12-04); on an
# AVX2-only one it takes 9 to 9.5 without them, beside the first pass's 13.3.
# It also leaves out the tests marked `newest_versions_only`: StyleGAN's
# folder runs and the StyleGAN and CycleGAN 8-device runs, whose time is
# compiling and computing their families' networks. What they exercise
# that differs between versions runs there in other tests (a folder read
# by the 64x64 DCGAN's run, the train call's shard_map and collectives on
# 8 devices by test_classic_step.py, each family's step by its model
# tests, StyleGAN's AdaIN networks by test_stylegan_networks.py). On an AVX2-only EPYC they took 3.8 of that pass's 23.7 minutes
# of worker time, and the pass took 10.4 minutes without them, 12.5 with
# them, 40 minutes before (2026-12-07).
_BENCHMARK_SCRIPT_FILES = (
  'test_finished_runs.py',
  'test_mode_collapse_2d.py',
  'test_mode_collapse_2d_tables.py',
  'test_seeds_together.py',
  'test_stacked_mnist.py',
  'test_training_time.py',
)


def pytest_collection_modifyitems(items):
  """Marks the `benchmark_scripts` tests, and runs the `slow` ones first.

  xdist hands out tests in collection order; a minute-long test collected
  near the end kept one worker busy after the other had run out.
  """
  for item in items:
    if item.path.name in _BENCHMARK_SCRIPT_FILES:
      item.add_marker(pytest.mark.benchmark_scripts)
  items.sort(key=lambda item: item.get_closest_marker('slow') is None)


@pytest.fixture(autouse=True)
def _full_optimization(request, monkeypatch):
  """Under `full_optimization`: jaxgan's compilations and subprocesses at XLA's defaults."""
  if request.node.get_closest_marker('full_optimization') is None:
    return
  if not _FULL_OPTIMIZATION:
    return  # The user's settings hold.
  if _USER_XLA_FLAGS:
    monkeypatch.setenv('XLA_FLAGS', _USER_XLA_FLAGS)
  else:
    monkeypatch.delenv('XLA_FLAGS')
  options = {**compilation.compiler_options(), **_FULL_OPTIMIZATION}
  monkeypatch.setattr(compilation, 'compiler_options', lambda: options)


@pytest.fixture(scope='session')
def data_dir() -> str:
  """A TFDS data_dir holding `bundled_mnist` (real MNIST), prepared once per test session.

  Tests prepare their own copy rather than use ~/tensorflow_datasets, so that
  a test run neither depends on nor changes what a user has prepared. The
  xdist workers share it: the first to take the lock prepares it, the
  others find it prepared. Tests only read it (and the evaluator's
  statistics cache, which is written atomically).
  """
  with open(os.path.join(_DATA_DIR, 'prepare.lock'), 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    data.dataset_info(data.BUNDLED_MNIST, data_dir=_DATA_DIR)
  return _DATA_DIR
