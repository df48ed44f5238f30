"""Fixtures shared by the test files, and a compilation cache for the session."""

import atexit
import os
import shutil
import tempfile

# Many tests train the same small configs, in this process, in the other
# xdist workers and in the subprocesses they start (a resumed run, another
# number of devices, a second host): a cache of compiled programs, shared
# through the environment, saves compiling each again. It lives for one
# test session only, so a run never depends on what an earlier one left.
# The first process to load this file (pytest itself, or xdist's
# controller, which starts the workers with its environment) makes the
# folder and removes it at exit; the workers inherit it.
_CACHE = os.environ.get('JAXGAN_TEST_COMPILATION_CACHE')
if not _CACHE:
  _CACHE = tempfile.mkdtemp(prefix='jaxgan-test-compilation-cache-')
  os.environ['JAXGAN_TEST_COMPILATION_CACHE'] = _CACHE
  atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
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
def data_dir(tmp_path_factory) -> str:
  """A TFDS data_dir holding `bundled_mnist` (real MNIST), prepared once.

  Tests prepare their own copy rather than use ~/tensorflow_datasets, so that
  a test run neither depends on nor changes what a user has prepared.
  """
  path = str(tmp_path_factory.mktemp('tfds'))
  data.dataset_info(data.BUNDLED_MNIST, data_dir=path)
  return path
