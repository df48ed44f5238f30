"""Fixtures shared by the test files."""

import pytest

from jaxgan import data


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory) -> str:
  """A TFDS data_dir holding `bundled_mnist` (real MNIST), prepared once.

  Tests prepare their own copy rather than use ~/tensorflow_datasets, so that
  a test run neither depends on nor changes what a user has prepared.
  """
  path = str(tmp_path_factory.mktemp('tfds'))
  data.dataset_info(data.BUNDLED_MNIST, data_dir=path)
  return path
