"""Tests for jaxgan.data and jaxgan.bundled_mnist, on real MNIST digits.

The session fixture prepares `bundled_mnist` once (~8 s) and the first
in-memory iterator decodes the train split once (~6 s); everything after that
is shared through `data`'s cache.
"""

import gzip
import json
import pathlib
import shutil
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.testing import mocking

from jaxgan.data import bundled_mnist
from jaxgan import data

# Facts about the real MNIST, independent of our code: fake or corrupted data
# cannot match them.
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_MEAN_PIXEL = 0.1307  # on the [0, 1] scale, the usual normalisation constant
TEST_MEAN_PIXEL = 0.1325


def _iterator(data_dir: str, **kwargs) -> data.BatchIterator:
  kwargs = {'global_batch_size': 64, 'seed': 0, **kwargs}
  return data.BatchIterator(data.BUNDLED_MNIST, data_dir=data_dir, **kwargs)


def _take(iterator: data.BatchIterator, n: int) -> list[dict[str, np.ndarray]]:
  return [next(iterator) for _ in range(n)]


def _assert_same_batches(a: list[dict], b: list[dict]) -> None:
  assert len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x['image'], y['image'])
    np.testing.assert_array_equal(x['label'], y['label'])


def test_dataset_info(data_dir):
  info = data.dataset_info(data.BUNDLED_MNIST, data_dir=data_dir)
  assert info == data.DatasetInfo(
    name='bundled_mnist', image_shape=(28, 28, 1), num_classes=10, num_train_examples=60_000
  )


@pytest.mark.parametrize(
  'split, counts, mean',
  [('train', TRAIN_LABEL_COUNTS, TRAIN_MEAN_PIXEL), ('test', TEST_LABEL_COUNTS, TEST_MEAN_PIXEL)],
)
def test_load_split_is_real_mnist(data_dir, split, counts, mean):
  images, labels = data.load_split(data.BUNDLED_MNIST, split=split, data_dir=data_dir)
  assert images.shape == (sum(counts), 28, 28, 1)
  assert images.dtype == np.float32
  assert images.min() == -1.0 and images.max() == 1.0
  assert labels.dtype == np.int32
  np.testing.assert_array_equal(np.bincount(labels, minlength=10), counts)
  assert float(np.mean((images + 1) / 2)) == pytest.approx(mean, abs=1e-4)


def test_batch_shapes_and_ranges(data_dir):
  iterator = _iterator(data_dir)
  assert iterator.info.image_shape == (28, 28, 1)
  assert iterator.steps_per_epoch == 60_000 // 64
  batch = next(iterator)
  assert set(batch) == {'image', 'label'}
  assert batch['image'].shape == (64, 28, 28, 1) and batch['image'].dtype == np.float32
  assert batch['label'].shape == (64,) and batch['label'].dtype == np.int32
  assert -1.0 <= batch['image'].min() and batch['image'].max() <= 1.0
  assert 0 <= batch['label'].min() and batch['label'].max() <= 9


def test_an_epoch_visits_every_example_once(data_dir):
  iterator = _iterator(data_dir, global_batch_size=10_000)
  labels = np.concatenate([b['label'] for b in _take(iterator, iterator.steps_per_epoch)])
  np.testing.assert_array_equal(np.bincount(labels, minlength=10), TRAIN_LABEL_COUNTS)
  assert iterator.position == {'epoch': 1, 'index': 0}


def test_same_seed_same_batches_other_seed_others(data_dir):
  _assert_same_batches(_take(_iterator(data_dir, seed=3), 3), _take(_iterator(data_dir, seed=3), 3))
  a, b = next(_iterator(data_dir, seed=3)), next(_iterator(data_dir, seed=4))
  assert not np.array_equal(a['image'], b['image'])


def test_epochs_are_shuffled_differently(data_dir):
  iterator = _iterator(data_dir, global_batch_size=20_000)
  first, _, _, second = _take(iterator, 4)  # 3 steps an epoch: epoch 0 step 0, epoch 1 step 0
  assert not np.array_equal(first['label'], second['label'])


@pytest.mark.parametrize(
  'batch_size, steps_before',
  [(64, 5), (20_000, 2)],  # mid-epoch; 3 steps an epoch, so restoring crosses the boundary
)
def test_restore_resumes_exactly(data_dir, batch_size, steps_before):
  reference = _iterator(data_dir, global_batch_size=batch_size, seed=7)
  _take(reference, steps_before)
  # Checkpoints store the position as JSON.
  saved = json.loads(json.dumps(reference.position))
  expected = _take(reference, 3)

  restored = _iterator(data_dir, global_batch_size=batch_size, seed=7)
  _take(restored, 1)  # a position of its own, overwritten by restore
  restored.restore(saved)
  _assert_same_batches(_take(restored, 3), expected)
  assert restored.position == reference.position


def test_streaming_reads_the_same_batches_and_restores(data_dir):
  in_memory = _iterator(data_dir, seed=5)
  streaming = _iterator(data_dir, seed=5, in_memory=False)
  try:
    _assert_same_batches(_take(streaming, 3), _take(in_memory, 3))
    # Restore while a prefetched batch for another position is pending.
    streaming.restore({'epoch': 2, 'index': 10})
    in_memory.restore({'epoch': 2, 'index': 10})
    _assert_same_batches(_take(streaming, 2), _take(in_memory, 2))
  finally:
    streaming.close()


def test_processes_split_the_global_batch(data_dir):
  whole = _take(_iterator(data_dir, global_batch_size=64), 3)
  parts = [
    _take(_iterator(data_dir, global_batch_size=64, process_index=i, process_count=2), 3)
    for i in range(2)
  ]
  for step, batch in enumerate(whole):
    assert parts[0][step]['image'].shape == (32, 28, 28, 1)
    for key in ('image', 'label'):
      joined = np.concatenate([parts[0][step][key], parts[1][step][key]])
      np.testing.assert_array_equal(joined, batch[key])


@pytest.mark.parametrize(
  'kwargs',
  [
    {'global_batch_size': 63, 'process_count': 2},
    {'process_index': 2, 'process_count': 2},
    {'seed': -1},
    {'global_batch_size': 60_001},
  ],
)
def test_bad_iterator_arguments(data_dir, kwargs):
  with pytest.raises(ValueError):
    _iterator(data_dir, **kwargs)


def test_bad_restore_position(data_dir):
  with pytest.raises(ValueError, match='steps per epoch'):
    _iterator(data_dir).restore({'epoch': 0, 'index': 60_000 // 64})


def _patched_mock_getitems(monkeypatch):
  # TFDS 4.9.10's mock data source assigns `__getitems__` as a plain attribute
  # of a MagicMock, so it is called without `self` and fails with a
  # TypeError; only `__getitem__` (a mock-recognised magic method) works.
  # Replace it with the same generator lookup, minus `self`.
  def getitems(record_keys, generator, serialized=False):
    assert not serialized
    return [generator[key] for key in record_keys]

  monkeypatch.setattr(mocking, '_getitems', getitems)


@pytest.mark.parametrize('in_memory', [True, False])
def test_other_tfds_dataset_through_mock_data(tmp_path, monkeypatch, in_memory):
  _patched_mock_getitems(monkeypatch)
  with tfds.testing.mock_data(num_examples=50):
    info = data.dataset_info('cifar10', data_dir=str(tmp_path))
    assert info == data.DatasetInfo('cifar10', (32, 32, 3), 10, 50)
    iterator = data.BatchIterator(
      'cifar10', global_batch_size=16, seed=0, data_dir=str(tmp_path), in_memory=in_memory
    )
    try:
      batches = _take(iterator, 4)  # 3 steps an epoch: crosses into epoch 1
    finally:
      iterator.close()
  for batch in batches:
    assert batch['image'].shape == (16, 32, 32, 3) and batch['image'].dtype == np.float32
    assert -1.0 <= batch['image'].min() and batch['image'].max() <= 1.0
    assert 0 <= batch['label'].min() and batch['label'].max() <= 9


def test_unlabelled_dataset_has_no_label(tmp_path, monkeypatch):
  _patched_mock_getitems(monkeypatch)
  with tfds.testing.mock_data(num_examples=4):
    info = data.dataset_info('celeb_a', data_dir=str(tmp_path))
    images, labels = data.load_split('celeb_a', split='test', data_dir=str(tmp_path))
  assert info.num_classes is None and info.image_shape == (218, 178, 3)
  assert images.shape == (4, 218, 178, 3) and labels is None


def test_unknown_dataset_name_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match=r"config\.dataset='no_such_dataset' is not a TFDS dataset"):
    data.dataset_info('no_such_dataset', data_dir=str(tmp_path))


def test_unprepared_dataset_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError) as error:
    data.dataset_info('cifar10', data_dir=str(tmp_path))
  message = str(error.value)
  for part in (
    "config.dataset='cifar10'",
    'config.data_dir=',
    'tfds build cifar10',
    'bundled_mnist',
  ):
    assert part in message


def test_dataset_without_image_feature_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match="no 'image' feature"):
    data.dataset_info('imdb_reviews', data_dir=str(tmp_path))


def test_corrupt_idx_file_fails_the_md5_check(tmp_path):
  source = bundled_mnist.DEFAULT_SOURCE_DIR
  name = 't10k-labels-idx1-ubyte'
  with gzip.open(source / f'{name}.gz', 'rb') as f:
    raw = bytearray(f.read())
  raw[100] = (raw[100] + 1) % 10  # one wrong label
  with gzip.open(tmp_path / f'{name}.gz', 'wb') as f:
    f.write(bytes(raw))
  expected = bundled_mnist._read_md5sums(source)[name]
  with pytest.raises(ValueError, match='MD5'):
    bundled_mnist.read_idx(tmp_path, name, expected_md5=expected)
  # The intact file passes and parses.
  labels = bundled_mnist.read_idx(source, name, expected_md5=expected)
  assert labels.shape == (10_000,)


def test_manual_dir_is_preferred_when_it_holds_the_files(tmp_path):
  class FakeDownloadManager:
    manual_dir = tmp_path

  builder = bundled_mnist.BundledMnist(data_dir=str(tmp_path / 'tfds'))
  assert builder._source_dir(FakeDownloadManager()) == bundled_mnist.DEFAULT_SOURCE_DIR
  for path in bundled_mnist.DEFAULT_SOURCE_DIR.iterdir():
    shutil.copy(path, tmp_path / path.name)
  assert builder._source_dir(FakeDownloadManager()) == pathlib.Path(tmp_path)


def test_tensorflow_is_never_imported(data_dir):
  del data_dir  # Prepared and read by now.
  assert 'tensorflow' not in sys.modules


# Stacked MNIST: built from the decoded digits, so these share the cache above.


def test_stacked_mnist_info(data_dir):
  info = data.dataset_info(data.STACKED_MNIST, data_dir=data_dir)
  assert info == data.DatasetInfo(
    name='stacked_mnist',
    image_shape=(28, 28, 3),
    num_classes=1000,
    num_train_examples=data.STACKED_MNIST_SIZES['train'],
  )


@pytest.mark.parametrize('split', ['train', 'test'])
def test_stacked_mnist_channels_are_the_digits_of_the_label(data_dir, split):
  images, labels = data.load_split(data.STACKED_MNIST, split=split, data_dir=data_dir)
  digits, digit_labels = data.load_split(data.BUNDLED_MNIST, split=split, data_dir=data_dir)
  assert images.shape == (data.STACKED_MNIST_SIZES[split], 28, 28, 3)
  assert images.dtype == np.float32 and labels.dtype == np.int32
  sources = data.stacked_mnist_sources(split, len(digits))
  for channel, place in enumerate((100, 10, 1)):
    # Each channel is, pixel for pixel, the MNIST digit it was drawn from...
    np.testing.assert_array_equal(images[..., channel], digits[sources[:, channel], ..., 0])
    # ...and the label's decimal digit in that place is that digit's label.
    np.testing.assert_array_equal(labels // place % 10, digit_labels[sources[:, channel]])
  if split == 'train':
    # 128 of each triple on average: every one of the 1000 modes is there.
    assert np.unique(labels).size == 1000


def test_stacked_mnist_is_deterministic(data_dir):
  sources = data.stacked_mnist_sources('train', 60_000)
  np.testing.assert_array_equal(sources, data.stacked_mnist_sources('train', 60_000))
  assert not np.array_equal(sources[:10_000], data.stacked_mnist_sources('test', 10_000))
  # The same batches from two iterators, whatever `in_memory` asks for.
  a = data.BatchIterator(data.STACKED_MNIST, global_batch_size=64, seed=3, data_dir=data_dir)
  b = data.BatchIterator(
    data.STACKED_MNIST, global_batch_size=64, seed=3, data_dir=data_dir, in_memory=False
  )
  batches = _take(a, 3)
  _assert_same_batches(batches, _take(b, 3))
  assert batches[0]['image'].shape == (64, 28, 28, 3)
  assert a.steps_per_epoch == data.STACKED_MNIST_SIZES['train'] // 64


def test_stacked_mnist_unknown_split_is_a_clear_error(data_dir):
  with pytest.raises(ValueError, match="splits \\['test', 'train'\\]"):
    data.load_split(data.STACKED_MNIST, split='train[:10%]', data_dir=data_dir)
