"""Tests for jaxgan.data.sources: what can be read, on real MNIST and generated data.

The session fixture `data_dir` (conftest.py) prepares `bundled_mnist` once;
the first read of a split decodes it once (~6 s) and caches it beside the
dataset, shared by everything after.
"""

import os
import pickle

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.testing import mocking

from jaxgan.data import mixtures
from jaxgan.data import sources
from jaxgan.data import transforms

# Facts about the real MNIST, independent of our code: fake or corrupted data
# cannot match them.
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_MEAN_PIXEL = 0.1307  # on the [0, 1] scale, the usual normalisation constant
TEST_MEAN_PIXEL = 0.1325


def patch_mock_getitems(monkeypatch):
  """Makes `__getitems__` of TFDS mock data sources work.

  TFDS 4.9.10's mock data source assigns `__getitems__` as a plain attribute
  of a MagicMock, so it is called without `self` and fails with a
  TypeError; only `__getitem__` (a mock-recognised magic method) works.
  Replace it with the same generator lookup, minus `self`.
  """

  def getitems(record_keys, generator, serialized=False):
    assert not serialized
    return [generator[key] for key in record_keys]

  monkeypatch.setattr(mocking, '_getitems', getitems)


def pattern(height: int, width: int, channels: int) -> np.ndarray:
  """uint8 image whose pixel (y, x, c) is (7 y + 3 x + 50 c) mod 256."""
  y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing='ij')
  return ((7 * y + 3 * x + 50 * c) % 256).astype(np.uint8)


def write_image(path, image: np.ndarray) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


@pytest.fixture
def class_folder(tmp_path) -> str:
  """Two classes of PNGs and JPEGs, gray and RGB, of odd sizes, plus files to skip."""
  root = tmp_path / 'images'
  write_image(root / 'cats' / 'a.png', pattern(53, 37, 3))
  write_image(root / 'cats' / 'sub' / 'b.JPG', pattern(90, 61, 1))
  write_image(root / 'dogs' / 'c.jpeg', pattern(61, 90, 3))
  write_image(root / 'dogs' / 'd.PNG', pattern(40, 50, 1))
  (root / 'dogs' / 'notes.txt').write_text('not an image')
  write_image(root / '.hidden' / 'e.png', pattern(8, 8, 3))
  write_image(root / 'dogs' / '._c.jpeg', pattern(8, 8, 3))
  return str(root)


# ---------------------------------------------------------------------------
# TFDS datasets.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
  'split, counts, mean',
  [('train', TRAIN_LABEL_COUNTS, TRAIN_MEAN_PIXEL), ('test', TEST_LABEL_COUNTS, TEST_MEAN_PIXEL)],
)
def test_load_split_is_real_mnist(data_dir, split, counts, mean):
  images, labels = sources.load_split(sources.BUNDLED_MNIST, split=split, data_dir=data_dir)
  assert images.shape == (sum(counts), 28, 28, 1)
  assert images.dtype == np.float32
  assert images.min() == -1.0 and images.max() == 1.0
  assert labels.dtype == np.int32
  np.testing.assert_array_equal(np.bincount(labels, minlength=10), counts)
  assert float(np.mean((images + 1) / 2)) == pytest.approx(mean, abs=1e-4)


def test_small_tfds_split_is_served_from_memory(data_dir):
  source = sources.open_source(sources.BUNDLED_MNIST, data_dir=data_dir, with_labels=True)
  assert isinstance(source, sources.ArraySource)
  assert len(source) == 60_000 and source.num_classes == 10
  assert source.example_shape == (28, 28, 1) and source.feature == 'image'
  images, labels = sources.load_split(sources.BUNDLED_MNIST, split='train', data_dir=data_dir)
  batch = source.gather(np.array([5, 0, 59_999]))
  assert batch['image'].dtype == np.uint8 and batch['label'].dtype == np.int32
  np.testing.assert_array_equal(batch['label'], labels[[5, 0, 59_999]])
  np.testing.assert_array_equal(transforms.to_float(batch['image']), images[[5, 0, 59_999]])
  example = source[7]
  assert set(example) == {'image', 'label'} and example['label'] == labels[7]
  # Without labels asked for, there are none.
  unlabelled = sources.open_source(sources.BUNDLED_MNIST, data_dir=data_dir)
  assert set(unlabelled[0]) == {'image'} and unlabelled.num_classes is None


def test_in_memory_source_pickles_by_recipe(data_dir):
  source = sources.open_source(sources.BUNDLED_MNIST, data_dir=data_dir, with_labels=True)
  pickled = pickle.dumps(source)
  assert len(pickled) < 10_000  # The recipe, not 47 MB of digits.
  copy = pickle.loads(pickled)
  np.testing.assert_array_equal(
    copy.gather(np.arange(10))['image'], source.gather(np.arange(10))['image']
  )


def test_large_split_streams_the_same_examples(tmp_path, monkeypatch):
  patch_mock_getitems(monkeypatch)
  with tfds.testing.mock_data(num_examples=12):
    in_memory = sources.open_source('cifar10', data_dir=str(tmp_path), with_labels=True)
    monkeypatch.setattr(sources, 'IN_MEMORY_LIMIT_BYTES', 0)
    streaming = sources.open_source('cifar10', data_dir=str(tmp_path), with_labels=True)
    assert isinstance(in_memory, sources.ArraySource)
    assert isinstance(streaming, sources.TfdsSource)
    assert streaming.example_shape == (32, 32, 3) and streaming.num_classes == 10
    for a, b in zip(in_memory.__getitems__([3, 0, 11]), streaming.__getitems__([3, 0, 11])):
      np.testing.assert_array_equal(a['image'], b['image'])
      assert a['label'] == b['label']


def test_tfds_source_keeps_only_image_and_label(tmp_path, monkeypatch):
  patch_mock_getitems(monkeypatch)
  monkeypatch.setattr(sources, 'IN_MEMORY_LIMIT_BYTES', 0)
  with tfds.testing.mock_data(num_examples=4):
    source = sources.open_source('celeb_a', data_dir=str(tmp_path))
    assert source.example_shape == (218, 178, 3)
    assert set(source[0]) == {'image'}  # celeb_a also has attributes and landmarks
    with pytest.raises(ValueError, match=r"config\.data\.source='celeb_a' has no 'label'"):
      sources.open_source('celeb_a', data_dir=str(tmp_path), with_labels=True)


def test_unlabelled_dataset_loads_without_labels(tmp_path, monkeypatch):
  patch_mock_getitems(monkeypatch)
  with tfds.testing.mock_data(num_examples=4):
    images, labels = sources.load_split('celeb_a', split='test', data_dir=str(tmp_path))
  assert images.shape == (4, 218, 178, 3) and labels is None


def test_unknown_dataset_name_is_a_clear_error(tmp_path):
  with pytest.raises(
    ValueError, match=r"config\.data\.source='no_such_dataset' is not a TFDS dataset"
  ) as error:
    sources.open_source('no_such_dataset', data_dir=str(tmp_path))
  assert "'./faces'" in str(error.value)  # says how to name a folder


def test_unprepared_dataset_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError) as error:
    sources.open_source('cifar10', data_dir=str(tmp_path))
  message = str(error.value)
  for part in (
    "config.data.source='cifar10' is not prepared",
    'config.data.data_dir=',
    'tfds build cifar10',
    'bundled_mnist',
  ):
    assert part in message
  assert '\n' not in message


def test_dataset_without_image_feature_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match="no 'image' feature"):
    sources.open_source('imdb_reviews', data_dir=str(tmp_path))


# ---------------------------------------------------------------------------
# Stacked MNIST.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('split', ['train', 'test'])
def test_stacked_mnist_channels_are_the_digits_of_the_label(data_dir, split):
  # Compared in uint8, as served, on every 7th image: float32 copies of all
  # 128,000 would be 1.2 GB, and a vectorised build errs everywhere or nowhere.
  stacked = sources.open_source(
    sources.STACKED_MNIST, split=split, data_dir=data_dir, with_labels=True
  ).arrays
  mnist = sources.open_source(
    sources.BUNDLED_MNIST, split=split, data_dir=data_dir, with_labels=True
  ).arrays
  labels = stacked['label']
  assert stacked['image'].shape == (sources.STACKED_MNIST_SIZES[split], 28, 28, 3)
  assert stacked['image'].dtype == np.uint8 and labels.dtype == np.int32
  rows = np.arange(0, len(labels), 7)
  images = stacked['image'][rows]
  indices = sources.stacked_mnist_sources(split, len(mnist['label']))
  for channel, place in enumerate((100, 10, 1)):
    # Each channel is, pixel for pixel, the MNIST digit it was drawn from...
    np.testing.assert_array_equal(
      images[..., channel], mnist['image'][indices[rows, channel], ..., 0]
    )
    # ...and the label's decimal digit in that place is that digit's label.
    np.testing.assert_array_equal(labels // place % 10, mnist['label'][indices[:, channel]])
  if split == 'train':
    # 128 of each triple on average: every one of the 1000 modes is there.
    assert np.unique(labels).size == 1000
  else:
    # load_split serves the same, as float32 in [-1, 1].
    floats, float_labels = sources.load_split(sources.STACKED_MNIST, split=split, data_dir=data_dir)
    np.testing.assert_array_equal(floats, transforms.to_float(stacked['image']))
    np.testing.assert_array_equal(float_labels, labels)


def test_stacked_mnist_is_fixed():
  indices = sources.stacked_mnist_sources('train', 60_000)
  np.testing.assert_array_equal(indices, sources.stacked_mnist_sources('train', 60_000))
  assert not np.array_equal(indices[:10_000], sources.stacked_mnist_sources('test', 10_000))
  # The draw itself, pinned: the dataset must not change under benchmarks.
  np.testing.assert_array_equal(
    indices[:2], np.random.default_rng(0x57AC).integers(60_000, size=(2, 3))
  )


def test_stacked_mnist_source(data_dir):
  source = sources.open_source(sources.STACKED_MNIST, data_dir=data_dir, with_labels=True)
  assert len(source) == 128_000 and source.num_classes == 1000
  assert source.example_shape == (28, 28, 3)


def test_stacked_mnist_unknown_split_is_a_clear_error(data_dir):
  with pytest.raises(ValueError, match="splits \\['test', 'train'\\]"):
    sources.load_split(sources.STACKED_MNIST, split='train[:10%]', data_dir=data_dir)


# ---------------------------------------------------------------------------
# 2-D points.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('name', ['ring2d', 'grid2d'])
def test_point_sources_are_the_fixed_mixture_draws(name):
  source = sources.open_source(name)
  mixture = mixtures.MIXTURES[name]
  expected = mixtures.sample_mixture(mixture.seed, mixture.modes, mixture.sigma, 100_000)
  assert len(source) == 100_000 and source.feature == 'point' and source.num_classes is None
  np.testing.assert_array_equal(
    source.gather(np.arange(100_000))['point'], expected.astype(np.float32)
  )
  example = source[3]
  assert set(example) == {'point'}
  assert example['point'].shape == (2,) and example['point'].dtype == np.float32


def test_point_sources_have_no_labels_or_splits():
  with pytest.raises(ValueError, match=r"config\.data\.source='ring2d' has no labels"):
    sources.open_source('ring2d', with_labels=True)
  with pytest.raises(ValueError, match=r"config\.data\.split='test' does not apply"):
    sources.open_source('grid2d', split='test')


# ---------------------------------------------------------------------------
# Folders of images.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
  'source, expected',
  [
    ('/data/faces', True),
    ('./faces', True),
    ('../faces', True),
    ('~/faces', True),
    ('gs://bucket/faces', True),
    ('cifar10', False),
    ('celeb_a/align:2.1.0', False),
    ('bundled_mnist', False),
  ],
)
def test_is_folder(source, expected):
  assert sources.is_folder(source) == expected


def test_an_existing_directory_is_a_folder(tmp_path, monkeypatch):
  (tmp_path / 'faces').mkdir()
  monkeypatch.chdir(tmp_path)
  assert sources.is_folder('faces')
  assert not sources.is_folder('cifar10')


def test_folder_lists_images_in_sorted_relative_path_order(class_folder):
  source = sources.open_source(class_folder)
  # PNG and JPEG of any case, recursively; not text files or hidden ones.
  assert source.files == ('cats/a.png', 'cats/sub/b.JPG', 'dogs/c.jpeg', 'dogs/d.PNG')
  assert len(source) == 4 and source.num_classes is None and source.feature == 'image'
  # The shape of the first image; gray images become RGB by default.
  assert source.example_shape == (53, 37, 3)
  assert source[1]['image'].shape == (90, 61, 3)
  assert set(source[0]) == {'image'}


def test_folder_decodes_pixels_exactly(class_folder):
  source = sources.open_source(class_folder)
  np.testing.assert_array_equal(source[0]['image'], pattern(53, 37, 3))
  # A gray PNG read as RGB: its gray value in every channel.
  np.testing.assert_array_equal(source[3]['image'], np.repeat(pattern(40, 50, 1), 3, axis=-1))
  gray = sources.open_source(class_folder, channels=1)
  np.testing.assert_array_equal(gray[3]['image'], pattern(40, 50, 1))
  assert gray[0]['image'].shape == (53, 37, 1)


def test_folder_labels_are_the_sorted_top_level_subfolders(class_folder):
  source = sources.open_source(class_folder, with_labels=True)
  assert source.classes == ('cats', 'dogs') and source.num_classes == 2
  assert [int(source[i]['label']) for i in range(4)] == [0, 0, 1, 1]
  assert [int(e['label']) for e in source.__getitems__([3, 1])] == [1, 0]


def test_folder_source_pickles_without_decoded_images(class_folder):
  source = sources.open_source(class_folder, with_labels=True)
  copy = pickle.loads(pickle.dumps(source))
  assert copy.files == source.files
  np.testing.assert_array_equal(copy[2]['image'], source[2]['image'])


def test_folder_errors(tmp_path, class_folder):
  with pytest.raises(ValueError, match=r'holds no images \(\.png, \.jpg, \.jpeg'):
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    sources.open_source(str(tmp_path / 'empty'))
  with pytest.raises(ValueError, match='is not a folder'):
    sources.open_source(str(tmp_path / 'missing'))
  with pytest.raises(ValueError, match=r"config\.data\.split='test' does not apply"):
    sources.open_source(class_folder, split='test')
  broken = tmp_path / 'broken'
  write_image(broken / 'a.png', pattern(4, 4, 3))
  (broken / 'b.jpg').write_bytes(b'not a jpeg')
  source = sources.open_source(str(broken))
  with pytest.raises(ValueError, match=r'Cannot decode the image .*b\.jpg'):
    source[1]


def test_labels_from_a_folder_without_classes_is_a_clear_error(tmp_path):
  flat = tmp_path / 'flat'
  write_image(flat / 'a.png', pattern(8, 8, 3))
  write_image(flat / 'b.png', pattern(8, 8, 3))
  assert len(sources.open_source(str(flat))) == 2  # fine without labels
  with pytest.raises(ValueError) as error:
    sources.open_source(str(flat), with_labels=True)
  message = str(error.value)
  assert f'config.data.source={str(flat)!r} has 2 images at its top level' in message
  assert 'subfolder' in message and '\n' not in message
  # Images beside class subfolders have no class either.
  write_image(flat / 'cats' / 'c.png', pattern(8, 8, 3))
  with pytest.raises(ValueError, match="has 2 images at its top level .*'a.png'"):
    sources.open_source(str(flat), with_labels=True)
