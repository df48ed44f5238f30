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

import pytest  # pylint: disable=g-import-not-at-top

from jaxgan import data  # pylint: disable=g-import-not-at-top


def pytest_collection_modifyitems(items):
  """Runs the `slow` tests first, so that xdist's workers do not end with one of them alone.

  xdist hands out tests in collection order; a minute-long test collected
  near the end kept one worker busy after the other had run out.
  """
  items.sort(key=lambda item: item.get_closest_marker('slow') is None)


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
