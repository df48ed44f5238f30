"""Tests for jaxgan.data's public API, as its callers use it.

The modules have their own files: test_data_sources.py, test_data_transforms.py,
test_data_spec.py, test_data_pipeline.py, test_data_mixtures.py and
test_data_bundled_mnist.py.
"""

import sys

import numpy as np

from jaxgan import data


def test_the_public_api_is_exported():
  for name in (
    'BatchIterator',
    'DataSpec',
    'DatasetInfo',
    'Transforms',
    'dataset_info',
    'load_split',
    'to_float',
    'stacked_mnist_sources',
    'BUNDLED_MNIST',
    'STACKED_MNIST',
    'STACKED_MNIST_SIZES',
    'IMAGE_KEY',
    'LABEL_KEY',
    'mixtures',
  ):
    assert hasattr(data, name), name


def test_a_config_to_batches(data_dir):
  # What the training loop does: a spec from the config's data fields,
  # checked before anything compiles, then batches.
  import ml_collections  # pylint: disable=g-import-not-at-top

  config = ml_collections.ConfigDict(
    {
      'source': data.BUNDLED_MNIST,
      'data_dir': data_dir,
      'split': 'train',
      'resize': 0,
      'center_crop': 0,
      'random_crop': 0,
      'flip': False,
      'channels': 0,
      'num_workers': 0,
    }
  )
  spec = data.DataSpec.from_config(config)
  info = data.dataset_info(spec, with_labels=True)
  assert info == data.DatasetInfo('bundled_mnist', (28, 28, 1), 10, 60_000, 'image')
  with data.BatchIterator(spec, global_batch_size=32, seed=0, with_labels=True) as batches:
    batch = next(batches)
  images = data.to_float(batch['image'])
  assert images.dtype == np.float32 and images.shape == (32, 28, 28, 1)
  assert images.min() == -1.0 and images.max() <= 1.0


def test_tensorflow_is_never_imported(data_dir):
  # By now bundled_mnist has been prepared (the fixture) and read.
  data.load_split(data.BUNDLED_MNIST, split='test', data_dir=data_dir)
  assert 'tensorflow' not in sys.modules
