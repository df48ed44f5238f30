"""Tests for jaxgan.data.pipeline: the order, split, resume and content of batches.

MNIST tests read the in-memory split that the `data_dir` session fixture
prepares; folder tests write a few small images under tmp_path. Only two
tests start worker processes (2 s or more each), with few batches.
"""

import json
import logging
import multiprocessing
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.testing import mocking

from jaxgan.data import pipeline
from jaxgan.data import sources
from jaxgan.data import spec as spec_lib
from jaxgan.data import transforms

DataSpec = spec_lib.DataSpec
Transforms = transforms.Transforms


def _mnist(data_dir: str, **kwargs) -> DataSpec:
  return DataSpec(sources.BUNDLED_MNIST, data_dir=data_dir, **kwargs)


def _iterator(spec: DataSpec, **kwargs) -> pipeline.BatchIterator:
  kwargs = {'global_batch_size': 64, 'seed': 0, 'with_labels': True, **kwargs}
  return pipeline.BatchIterator(spec, **kwargs)


def _take(iterator: pipeline.BatchIterator, n: int) -> list[dict[str, np.ndarray]]:
  return [next(iterator) for _ in range(n)]


def _assert_same_batches(a: list[dict], b: list[dict]) -> None:
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert set(x) == set(y)
    for key in x:
      np.testing.assert_array_equal(x[key], y[key])


def _pattern(height: int, width: int, channels: int, offset: int = 0) -> np.ndarray:
  """uint8 image whose pixel (y, x, c) is (7 y + 3 x + 50 c + offset) mod 256."""
  y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing='ij')
  return ((7 * y + 3 * x + 50 * c + offset) % 256).astype(np.uint8)


def _write(path, image: np.ndarray) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


@pytest.fixture
def png_folder(tmp_path) -> str:
  """24 PNGs of odd sizes in 3 classes; image i's pattern is offset by 10 i."""
  root = tmp_path / 'pngs'
  sizes = [(53, 37), (90, 61), (40, 50), (37, 53)]
  for i in range(24):
    height, width = sizes[i % 4]
    channels = 1 if i % 3 == 0 else 3
    _write(root / f'class{i % 3}' / f'{i:02d}.png', _pattern(height, width, channels, 10 * i))
  return str(root)


def _folder_image(i: int) -> np.ndarray:
  """Image i of `png_folder` as the folder source decodes it (RGB)."""
  sizes = [(53, 37), (90, 61), (40, 50), (37, 53)]
  image = _pattern(*sizes[i % 4], 1 if i % 3 == 0 else 3, 10 * i)
  return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _folder_index(png_folder: str) -> list[int]:
  """Which image (i of `png_folder`) each index of the folder source is."""
  files = sources.open_source(png_folder).files
  return [int(name.split('/')[1][:2]) for name in files]


# ---------------------------------------------------------------------------
# Order and content.
# ---------------------------------------------------------------------------


def test_batches_are_uint8_images_and_int32_labels(data_dir):
  with _iterator(_mnist(data_dir)) as iterator:
    assert iterator.info == sources.DatasetInfo('bundled_mnist', (28, 28, 1), 10, 60_000, 'image')
    assert iterator.steps_per_epoch == 60_000 // 64
    batch = next(iterator)
  assert set(batch) == {'image', 'label'}
  assert batch['image'].shape == (64, 28, 28, 1) and batch['image'].dtype == np.uint8
  assert batch['label'].shape == (64,) and batch['label'].dtype == np.int32
  with _iterator(_mnist(data_dir), with_labels=False) as iterator:
    assert set(next(iterator)) == {'image'}


def test_padded_mnist_is_the_digits_on_a_black_border(data_dir):
  # StyleGAN's 32x32 MNIST: the pad is the spec's, its size the info's.
  with _iterator(_mnist(data_dir)) as iterator:
    plain = next(iterator)['image']
  with _iterator(_mnist(data_dir, transforms=Transforms(pad=32))) as iterator:
    assert iterator.info.shape == (32, 32, 1)
    padded = next(iterator)['image']
  assert padded.shape == (64, 32, 32, 1)
  np.testing.assert_array_equal(padded[:, 2:30, 2:30], plain)
  assert padded.sum() == plain.sum()


def test_batches_follow_the_epoch_permutations(data_dir):
  # The documented stream: position j of epoch e is example perm_e[j], the
  # remainder N mod B of each epoch dropped, global batch g = positions
  # [g B, (g + 1) B).
  images, labels = sources.load_split(sources.BUNDLED_MNIST, split='train', data_dir=data_dir)
  batch_size = 7_000  # 8 steps an epoch, 4,000 examples dropped
  with _iterator(_mnist(data_dir), global_batch_size=batch_size, seed=11) as iterator:
    batches = _take(iterator, 10)
  for g, batch in enumerate(batches):
    epoch, step = divmod(g, 8)
    order = pipeline.epoch_permutation(11, epoch, 60_000)[
      step * batch_size : (step + 1) * batch_size
    ]
    np.testing.assert_array_equal(transforms.to_float(batch['image']), images[order])
    np.testing.assert_array_equal(batch['label'], labels[order])


def test_an_epoch_visits_every_example_once(data_dir):
  with _iterator(_mnist(data_dir), global_batch_size=10_000) as iterator:
    batch_labels = [b['label'] for b in _take(iterator, iterator.steps_per_epoch)]
    assert iterator.get_state()['next_batch'] == 6 and iterator.epoch == 1
  counts = np.bincount(np.concatenate(batch_labels), minlength=10)
  np.testing.assert_array_equal(
    counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
  )


def test_an_epoch_of_a_folder_reads_every_image_once(png_folder):
  spec = DataSpec(png_folder, transforms=Transforms(resize=32, center_crop=32))
  with _iterator(spec, global_batch_size=8) as iterator:
    assert iterator.steps_per_epoch == 3
    batches = _take(iterator, 6)
  for epoch in range(2):
    images = np.concatenate([b['image'] for b in batches[3 * epoch : 3 * epoch + 3]])
    # Images differ from one another by their offsets, so 24 distinct ones
    # means each exactly once.
    assert len({image.tobytes() for image in images}) == 24
  assert not np.array_equal(batches[0]['image'], batches[3]['image'])


def test_same_seed_same_batches_other_seed_others(data_dir):
  with _iterator(_mnist(data_dir), seed=3) as a, _iterator(_mnist(data_dir), seed=3) as b:
    _assert_same_batches(_take(a, 3), _take(b, 3))
  with _iterator(_mnist(data_dir), seed=3) as a, _iterator(_mnist(data_dir), seed=4) as b:
    assert not np.array_equal(next(a)['image'], next(b)['image'])


def test_epochs_are_shuffled_differently(data_dir):
  with _iterator(_mnist(data_dir), global_batch_size=20_000) as iterator:
    first, _, _, second = _take(iterator, 4)  # 3 steps an epoch
  assert not np.array_equal(first['label'], second['label'])


def test_points(tmp_path):
  with _iterator(DataSpec('ring2d'), global_batch_size=50_000, with_labels=False) as iterator:
    assert iterator.info == sources.DatasetInfo('ring2d', (2,), None, 100_000, 'point')
    batches = _take(iterator, 2)
  assert set(batches[0]) == {'point'}
  assert batches[0]['point'].shape == (50_000, 2) and batches[0]['point'].dtype == np.float32
  points = np.concatenate([b['point'] for b in batches])
  expected = sources.open_source('ring2d').gather(np.arange(100_000))['point']
  np.testing.assert_array_equal(np.sort(points, axis=0), np.sort(expected, axis=0))


# ---------------------------------------------------------------------------
# Resuming.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
  'batch_size, steps_before',
  [(64, 5), (20_000, 2)],  # mid-epoch; 3 steps an epoch, so resuming crosses the boundary
)
def test_resume_is_exact(data_dir, batch_size, steps_before):
  with _iterator(_mnist(data_dir), global_batch_size=batch_size, seed=7) as reference:
    _take(reference, steps_before)
    # Checkpoints store the state as JSON.
    saved = json.loads(json.dumps(reference.get_state()))
    expected = _take(reference, 3)
    final_state = reference.get_state()
  with _iterator(_mnist(data_dir), global_batch_size=batch_size, seed=7) as restored:
    _take(restored, 1)  # a position of its own, overwritten by set_state
    restored.set_state(saved)
    _assert_same_batches(_take(restored, 3), expected)
    assert restored.get_state() == final_state


def test_resume_across_worker_counts(png_folder):
  # Random crops and flips, labels, and worker processes: the batches after
  # a state are the same whether it was taken or is resumed with 2 workers
  # or none, because an example's draws depend on (seed, epoch, index) only.
  spec = DataSpec(png_folder, transforms=Transforms(resize=40, random_crop=32, flip=True))
  workers = DataSpec(png_folder, transforms=spec.transforms, num_workers=2)
  with _iterator(spec, global_batch_size=8, seed=5) as threaded:
    _take(threaded, 2)
    state_before = json.loads(json.dumps(threaded.get_state()))
    expected = _take(threaded, 3)  # crosses into epoch 1
    state_after = threaded.get_state()
    more = _take(threaded, 2)
  with _iterator(workers, global_batch_size=8, seed=5) as parallel:
    parallel.set_state(state_before)  # 0 workers -> 2
    _assert_same_batches(_take(parallel, 3), expected)
    assert parallel.get_state() == state_after
    state = json.loads(json.dumps(parallel.get_state()))
    assert len(multiprocessing.active_children()) >= 2
  assert not multiprocessing.active_children()  # closing stopped the workers
  with _iterator(spec, global_batch_size=8, seed=5) as threaded:
    threaded.set_state(state)  # 2 workers -> 0
    _assert_same_batches(_take(threaded, 2), more)


def test_in_memory_data_in_a_worker_process(data_dir):
  # The worker loads MNIST itself (from the decoded cache), not through a pipe.
  with _iterator(_mnist(data_dir), seed=2) as threaded:
    expected = _take(threaded, 2)
  with _iterator(_mnist(data_dir, num_workers=1), seed=2) as worker:
    _assert_same_batches(_take(worker, 2), expected)


@pytest.mark.parametrize(
  'change, message',
  [
    ({'seed': 1}, r'"seed": 1'),
    ({'global_batch_size': 32}, r'"global_batch_size": 32'),
    ({'source': 'stacked_mnist'}, r'"source": "stacked_mnist"'),
    ({'num_examples': 59_999}, r'"num_examples": 59999'),
  ],
)
def test_a_state_of_another_stream_is_refused(data_dir, change, message):
  with _iterator(_mnist(data_dir)) as iterator:
    state = {**iterator.get_state(), **change}
    with pytest.raises(ValueError, match=message + r'.* is not from this stream'):
      iterator.set_state(state)


def test_a_malformed_state_is_refused(data_dir):
  with _iterator(_mnist(data_dir)) as iterator:
    with pytest.raises(ValueError, match='Not a BatchIterator state'):
      iterator.set_state({'epoch': 0, 'index': 3})
    with pytest.raises(ValueError, match='not a batch index'):
      iterator.set_state({**iterator.get_state(), 'next_batch': -1})


def test_a_state_resumes_with_another_process_count(data_dir):
  # The state is that of the global stream, the same in every process, so a
  # run may resume on another number of hosts.
  with _iterator(_mnist(data_dir)) as whole:
    _take(whole, 4)
    state = whole.get_state()
    expected = next(whole)
  parts = []
  for index in range(2):
    with _iterator(_mnist(data_dir), process_index=index, process_count=2) as part:
      part.set_state(state)
      parts.append(next(part))
  for key in ('image', 'label'):
    np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), expected[key])


# ---------------------------------------------------------------------------
# Processes.
# ---------------------------------------------------------------------------


def test_processes_split_the_global_batch(data_dir):
  with _iterator(_mnist(data_dir)) as whole:
    expected = _take(whole, 3)
  parts = []
  for index in range(2):
    with _iterator(_mnist(data_dir), process_index=index, process_count=2) as part:
      assert part.local_batch_size == 32
      parts.append(_take(part, 3))
  for step, batch in enumerate(expected):
    assert parts[0][step]['image'].shape == (32, 28, 28, 1)
    for key in ('image', 'label'):
      joined = np.concatenate([parts[0][step][key], parts[1][step][key]])
      np.testing.assert_array_equal(joined, batch[key])


def test_random_transforms_depend_on_seed_epoch_and_index_only(png_folder):
  spec = DataSpec(png_folder, transforms=Transforms(random_crop=30, flip=True))
  source = sources.open_source(png_folder)
  with _iterator(spec, global_batch_size=8, seed=9, with_labels=False) as iterator:
    stream = np.concatenate([b['image'] for b in _take(iterator, 6)])  # 2 epochs
  # Position j of epoch e: example perm_e[j], with that example's draws.
  redrawn = 0
  for epoch in range(2):
    for j, index in enumerate(pipeline.epoch_permutation(9, epoch, 24)):
      rng = transforms.example_rng(9, epoch, int(index))
      expected = transforms.apply(source[index]['image'], spec.transforms, rng)
      np.testing.assert_array_equal(stream[24 * epoch + j], expected)
      if epoch == 1:
        rng = transforms.example_rng(9, 0, int(index))
        redrawn += not np.array_equal(
          expected, transforms.apply(source[index]['image'], spec.transforms, rng)
        )
  assert redrawn > 12  # A new epoch draws anew.
  # Two processes with global batches of 4 (still 24-example epochs): the
  # same examples with the same draws, whichever process reads them.
  parts = []
  for index in range(2):
    with _iterator(
      spec, global_batch_size=4, seed=9, with_labels=False, process_index=index, process_count=2
    ) as iterator:
      parts.append([b['image'] for b in _take(iterator, 12)])
  joined = np.concatenate([np.concatenate([a, b]) for a, b in zip(*parts)])
  np.testing.assert_array_equal(joined, stream)


# ---------------------------------------------------------------------------
# Folders and transforms.
# ---------------------------------------------------------------------------


def test_folder_batches_labels_and_pixels(png_folder):
  spec = DataSpec(png_folder, transforms=Transforms(center_crop=36))
  which = _folder_index(png_folder)
  with _iterator(spec, global_batch_size=24, seed=4) as iterator:
    assert iterator.info == sources.DatasetInfo(png_folder, (36, 36, 3), 3, 24, 'image')
    batch = next(iterator)
  order = pipeline.epoch_permutation(4, 0, 24)
  assert batch['image'].shape == (24, 36, 36, 3) and batch['image'].dtype == np.uint8
  for j, index in enumerate(order):
    i = which[index]
    assert batch['label'][j] == i % 3  # class{i % 3}
    image = _folder_image(i)
    top, left = (image.shape[0] - 36) // 2, (image.shape[1] - 36) // 2
    np.testing.assert_array_equal(batch['image'][j], image[top : top + 36, left : left + 36])


def test_folder_flip_known_pixels(png_folder):
  spec = DataSpec(png_folder, transforms=Transforms(center_crop=36, flip=True))
  which = _folder_index(png_folder)
  flips = 0
  with _iterator(spec, global_batch_size=24, seed=4, with_labels=False) as iterator:
    for epoch in range(2):
      batch = next(iterator)
      order = pipeline.epoch_permutation(4, epoch, 24)
      for j, index in enumerate(order):
        image = _folder_image(which[index])
        top, left = (image.shape[0] - 36) // 2, (image.shape[1] - 36) // 2
        crop = image[top : top + 36, left : left + 36]
        flipped = transforms.example_rng(4, epoch, int(index)).random() < 0.5
        flips += flipped
        np.testing.assert_array_equal(batch['image'][j], crop[:, ::-1] if flipped else crop)
  assert 0 < flips < 48


def test_folder_of_jpegs_and_pngs_resized_and_cropped(tmp_path):
  root = tmp_path / 'mixed'
  _write(root / 'a' / '1.jpg', _pattern(37, 53, 3))
  _write(root / 'a' / '2.PNG', _pattern(90, 61, 1))
  _write(root / 'b' / '3.JPEG', _pattern(61, 90, 1))
  _write(root / 'b' / '4.png', _pattern(53, 37, 3))
  spec = DataSpec(str(root), transforms=Transforms(resize=32, center_crop=32))
  with _iterator(spec, global_batch_size=4) as iterator:
    assert iterator.info.shape == (32, 32, 3) and iterator.info.num_classes == 2
    batch = next(iterator)
  assert batch['image'].shape == (4, 32, 32, 3)
  assert sorted(batch['label'].tolist()) == [0, 0, 1, 1]
  gray = DataSpec(str(root), transforms=Transforms(resize=32, center_crop=32, channels=1))
  with _iterator(gray, global_batch_size=4) as iterator:
    assert next(iterator)['image'].shape == (4, 32, 32, 1)


def test_a_folder_iterator_decodes_only_what_it_returns(tmp_path, monkeypatch):
  # Streaming: images are decoded when their batch is read, never all at
  # once, so memory does not grow with the folder.
  root = tmp_path / 'many'
  for i in range(200):
    _write(root / f'{i:03d}.png', _pattern(8, 8, 3, i))
  decodes = []
  original = Image.open

  def counting_open(*args, **kwargs):
    decodes.append(1)
    return original(*args, **kwargs)

  monkeypatch.setattr(Image, 'open', counting_open)
  with _iterator(DataSpec(str(root)), global_batch_size=4, with_labels=False) as iterator:
    assert len(decodes) == 1  # The first image, to learn the shape.
    _take(iterator, 3)
  # The 3 batches returned, plus those prefetched (and one being read).
  assert 12 < len(decodes) <= 1 + 4 * (3 + pipeline.PREFETCH_BATCHES + 1)


def test_celeb_a_at_64x64_through_mock_data(tmp_path, monkeypatch):
  # The DCGAN paper's preprocessing: shorter side to 64, central 64x64.
  def getitems(record_keys, generator, serialized=False):
    assert not serialized
    return [generator[key] for key in record_keys]

  monkeypatch.setattr(mocking, '_getitems', getitems)
  spec = DataSpec(
    'celeb_a', data_dir=str(tmp_path), transforms=Transforms(resize=64, center_crop=64)
  )
  with tfds.testing.mock_data(num_examples=20, policy=tfds.testing.MockPolicy.USE_CODE):
    assert spec_lib.dataset_info(spec).shape == (64, 64, 3)
    with _iterator(spec, global_batch_size=8, with_labels=False) as iterator:
      in_memory = _take(iterator, 3)  # 2 steps an epoch: crosses into epoch 1
    monkeypatch.setattr(sources, 'IN_MEMORY_LIMIT_BYTES', 0)
    with _iterator(spec, global_batch_size=8, with_labels=False) as iterator:
      streamed = _take(iterator, 3)
  for batch in in_memory:
    assert batch['image'].shape == (8, 64, 64, 3) and batch['image'].dtype == np.uint8
  _assert_same_batches(in_memory, streamed)


# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------


def test_images_of_different_sizes_without_a_crop_is_a_clear_error(png_folder):
  with _iterator(
    DataSpec(png_folder, transforms=Transforms(resize=32)), global_batch_size=24
  ) as it:
    with pytest.raises(ValueError) as error:
      next(it)
  message = str(error.value)
  assert 'after the transforms, but the first image is 46x32x3' in message
  assert 'set config.data.center_crop' in message and '\n' not in message


def test_a_crop_larger_than_some_image_is_a_clear_error(tmp_path):
  root = tmp_path / 'sizes'
  _write(root / 'a.png', _pattern(50, 50, 3))
  _write(root / 'b.png', _pattern(20, 30, 3))
  spec = DataSpec(str(root), transforms=Transforms(center_crop=40))
  with _iterator(spec, global_batch_size=2, with_labels=False) as iterator:
    with pytest.raises(ValueError, match=r'config\.data\.center_crop=40 does not fit .*b\.png'):
      next(iterator)


@pytest.mark.parametrize(
  'kwargs, message',
  [
    ({'global_batch_size': 63, 'process_count': 2}, 'multiple of process_count'),
    ({'process_index': 2, 'process_count': 2}, 'not in'),
    ({'seed': -1}, 'seed'),
    ({'seed': 2**32}, 'seed'),
    ({'global_batch_size': 60_001}, 'exceeds the 60000 examples'),
  ],
)
def test_bad_iterator_arguments(data_dir, kwargs, message):
  with pytest.raises(ValueError, match=message):
    _iterator(_mnist(data_dir), **kwargs)


def test_a_source_name_is_not_a_spec(data_dir):
  # The old signature, BatchIterator(name, ...), fails loudly.
  with pytest.raises(TypeError, match='DataSpec'):
    pipeline.BatchIterator(sources.BUNDLED_MNIST, global_batch_size=64, seed=0, with_labels=True)


def test_grains_profiling_notice_is_dropped_and_other_absl_warnings_kept(caplog):
  # grain logs the notice at import on jax < 0.11 (Colab's 0.7.2), where it
  # was the first line of every command's output.
  with caplog.at_level(logging.WARNING, logger='absl'):
    logging.getLogger('absl').warning(
      'Grain multiprocess worker profiling requires jaxlib extension version 448 or later '
      '(jaxlib >= 0.11.0). Current version: %s.',
      373,
    )
    logging.getLogger('absl').warning('Another warning: %s.', 1)
  assert [record.getMessage() for record in caplog.records] == ['Another warning: 1.']
