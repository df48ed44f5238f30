"""Tests for jaxgan.data.spec: configs read, checked against the data, with clear errors."""

import ml_collections
import numpy as np
from PIL import Image
import pytest

from jaxgan.data import sources
from jaxgan.data import spec as spec_lib
from jaxgan.data import transforms

DataSpec = spec_lib.DataSpec


def _config(**fields) -> ml_collections.ConfigDict:
  defaults = {
    'source': 'bundled_mnist',
    'data_dir': '',
    'split': 'train',
    'resize': 0,
    'center_crop': 0,
    'random_crop': 0,
    'flip': False,
    'channels': 0,
    'num_workers': 0,
  }
  return ml_collections.ConfigDict({**defaults, **fields})


def test_from_config():
  spec = DataSpec.from_config(
    _config(
      source='/images', data_dir='/tfds', resize=64, random_crop=56, flip=True, num_workers=2
    ),
    config_field='config.real',
  )
  assert spec == DataSpec(
    '/images',
    data_dir='/tfds',
    split='train',
    transforms=transforms.Transforms(resize=64, random_crop=56, flip=True),
    num_workers=2,
    config_field='config.real',
  )
  # '' is TFDS's default data_dir.
  assert DataSpec.from_config(_config()).data_dir is None


def test_bad_config_values_name_their_field():
  with pytest.raises(
    ValueError, match=r'config\.real\.center_crop=64 and config\.real\.random_crop=56'
  ):
    DataSpec.from_config(_config(center_crop=64, random_crop=56), config_field='config.real')
  with pytest.raises(ValueError, match=r'config\.data\.num_workers=-1 must be 0'):
    DataSpec.from_config(_config(num_workers=-1))


def test_dataset_info_mnist(data_dir):
  spec = DataSpec(sources.BUNDLED_MNIST, data_dir=data_dir)
  assert spec_lib.dataset_info(spec) == sources.DatasetInfo(
    'bundled_mnist', (28, 28, 1), None, 60_000, 'image'
  )
  assert spec_lib.dataset_info(spec, with_labels=True).num_classes == 10
  # A source name is shorthand for DataSpec(name, data_dir=...).
  assert spec_lib.dataset_info('bundled_mnist', data_dir=data_dir) == spec_lib.dataset_info(spec)
  resized = DataSpec(
    sources.BUNDLED_MNIST,
    data_dir=data_dir,
    transforms=transforms.Transforms(resize=32, channels=3),
  )
  assert spec_lib.dataset_info(resized).shape == (32, 32, 3)


def test_dataset_info_stacked_mnist_and_points(data_dir):
  stacked = DataSpec(sources.STACKED_MNIST, data_dir=data_dir)
  assert spec_lib.dataset_info(stacked, with_labels=True) == sources.DatasetInfo(
    'stacked_mnist', (28, 28, 3), 1000, 128_000, 'image'
  )
  assert spec_lib.dataset_info(DataSpec('grid2d')) == sources.DatasetInfo(
    'grid2d', (2,), None, 100_000, 'point'
  )


def test_dataset_info_folder_decodes_one_image(tmp_path):
  for i, size in enumerate([(70, 90), (64, 64)]):
    Image.fromarray(np.zeros((*size, 3), np.uint8)).save(tmp_path / f'{i}.jpg')
  spec = DataSpec(str(tmp_path), transforms=transforms.Transforms(resize=64, center_crop=64))
  assert spec_lib.dataset_info(spec) == sources.DatasetInfo(
    str(tmp_path), (64, 64, 3), None, 2, 'image'
  )


def test_crop_larger_than_the_images_is_a_clear_error(data_dir):
  spec = DataSpec(
    sources.BUNDLED_MNIST, data_dir=data_dir, transforms=transforms.Transforms(center_crop=32)
  )
  with pytest.raises(ValueError) as error:
    spec_lib.dataset_info(spec)
  message = str(error.value)
  assert message.startswith('config.data.center_crop=32 is larger than the 28x28 images of ')
  assert 'set it to at most 28' in message and '\n' not in message


def test_image_transforms_on_points_are_a_clear_error():
  spec = DataSpec('ring2d', transforms=transforms.Transforms(flip=True))
  with pytest.raises(ValueError, match=r"config\.data\.source='ring2d' holds 2-D points"):
    spec_lib.dataset_info(spec)


def test_data_dir_goes_into_the_spec():
  with pytest.raises(ValueError, match='data_dir goes into the DataSpec'):
    spec_lib.dataset_info(DataSpec('ring2d'), data_dir='/tfds')
