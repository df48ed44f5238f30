"""Training and evaluation data: TFDS image datasets read without TensorFlow.

Everything goes through `tfds.data_source` (random access to ArrayRecord
files), so neither reading nor, for `bundled_mnist`, preparing needs
TensorFlow. The training iterator is a pure function of (seed, epoch, step in
epoch): its position is two integers, which makes checkpoint/restore exact and
lets every process of a multi-host run agree on the global batch without
talking to the others.

Images come out as float32 NHWC in [-1, 1] (the range of a tanh generator);
labels as int32.

One dataset is not a TFDS one: `stacked_mnist`, the 1000-mode benchmark of
mode collapse (Metz et al. 2017; VEEGAN; PacGAN), built in memory from the
decoded `bundled_mnist` digits on first use.
"""

from collections.abc import Iterator
import concurrent.futures
import dataclasses
import functools
import os
import re
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from jaxgan.data import bundled_mnist

# The dataset prepared from the MNIST files bundled with the repo: the one that
# works offline and without TensorFlow.
BUNDLED_MNIST = 'bundled_mnist'
# Three MNIST digits drawn independently and stacked as R, G, B: 28x28x3,
# label 100 d_R + 10 d_G + d_B, so 1000 classes (the modes).
STACKED_MNIST = 'stacked_mnist'
STACKED_MNIST_CLASSES = 1000
# Examples of each split: 128,000 as in PacGAN's code (its stacked-MNIST
# `num_training_sample`); the test split stacks MNIST's test digits, as many
# as there are.
STACKED_MNIST_SIZES = {'train': 128_000, 'test': 10_000}
# Seeds of the digit draws, one per split, fixed so that every process and
# run builds the same set.
_STACKED_MNIST_SEEDS = {'train': 0x57AC, 'test': 0x57AD}
IMAGE_KEY = 'image'
LABEL_KEY = 'label'
# Splits whose decoded uint8 images fit under this size are decoded once and
# kept in memory: decoding PNGs costs ~100 us an image with PIL, which would
# dominate a ~7 ms training step on CPU if paid per batch.
IN_MEMORY_LIMIT_BYTES = 2 * 1024**3
# Examples decoded per `__getitems__` call when decoding a whole split.
_DECODE_CHUNK = 2048


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What the trainer needs to know about a dataset before building models.

  Attributes:
    name: the TFDS name, e.g. `bundled_mnist` or `cifar10`.
    image_shape: (height, width, channels) of one image.
    num_classes: number of label classes, or None if the dataset has no
      `label` feature.
    num_train_examples: examples in the `train` split.
  """

  name: str
  image_shape: tuple[int, int, int]
  num_classes: int | None
  num_train_examples: int


def _builder(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder:
  """Returns the TFDS builder for `name`, preparing `bundled_mnist` if needed.

  Raises:
    ValueError: if `name` is not a TFDS dataset.
  """
  if name == BUNDLED_MNIST:
    builder = bundled_mnist.BundledMnist(data_dir=data_dir, file_format='array_record')
    if not builder.is_prepared():
      # Our own builder reads local files, so there is nothing to fetch from
      # GCS either; preparing takes a few seconds, once per data_dir.
      builder.download_and_prepare(
        file_format='array_record',
        download_config=tfds.download.DownloadConfig(try_download_gcs=False),
      )
    return builder
  try:
    return tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise ValueError(
      f'config.dataset={name!r} is not a TFDS dataset. Use a name from '
      "`tfds.list_builders()` (e.g. 'mnist', 'fashion_mnist', 'cifar10', "
      f"'celeb_a'), {BUNDLED_MNIST!r}, MNIST prepared offline from the files "
      f'bundled with jaxgan, or {STACKED_MNIST!r}, built from it.'
    ) from e


def _not_readable_error(builder: tfds.core.DatasetBuilder, data_dir: str | None) -> ValueError:
  """Explains why `builder`'s data cannot be read through `tfds.data_source`."""
  name = builder.name
  fix = (
    f'Prepare it with `tfds build {name} --data_dir=DATA_DIR '
    '--file_format=array_record` (this needs `pip install tensorflow` and, for '
    f"most datasets, internet access), or set config.dataset='{BUNDLED_MNIST}', "
    'which needs neither.'
  )
  if not builder.is_prepared():
    return ValueError(
      f'config.dataset={name!r} is not prepared in config.data_dir={data_dir!r}: '
      f'no dataset_info.json in {builder.data_dir}. {fix}'
    )
  formats = [f.value for f in builder.info.available_file_formats()]
  return ValueError(
    f'config.dataset={name!r} is prepared in {builder.data_dir} '
    f'(config.data_dir={data_dir!r}) as {formats or builder.info.file_format}, '
    'but jaxgan reads data through `tfds.data_source`, which needs a random '
    f'access format (array_record). {fix}'
  )


def _data_source(
  name: str, split: str, data_dir: str | None
) -> tuple[tfds.core.DatasetBuilder, Any]:
  """Returns the builder and the random-access source of one split.

  Raises:
    ValueError: if `name` is unknown, not prepared, or not in a random-access
      format, or its features are not an `image` (and optional `label`).
  """
  builder = _builder(name, data_dir)
  _check_features(builder)
  try:
    # What `tfds.data_source(name, split=..., download=False)` does, without
    # building the builder a second time.
    source = builder.as_data_source(split=split)
  except Exception as e:  # pylint: disable=broad-except
    # TFDS raises assorted types here (unknown split, missing files, format);
    # say which case it is in terms of the config when we can tell.
    if not builder.is_prepared() or not builder.info.available_file_formats():
      raise _not_readable_error(builder, data_dir) from e
    raise
  return builder, source


def _check_features(builder: tfds.core.DatasetBuilder) -> None:
  """Checks that the dataset has a fixed-shape uint8 `image` feature."""
  features = builder.info.features
  where = f'config.dataset={builder.name!r}'
  if features is None or IMAGE_KEY not in features.keys():
    keys = sorted(features.keys()) if features is not None else []
    raise ValueError(
      f'{where} has no {IMAGE_KEY!r} feature (its features: {keys}); jaxgan '
      f'reads images from a feature named {IMAGE_KEY!r}.'
    )
  image = features[IMAGE_KEY]
  if not isinstance(image, tfds.features.Image):
    raise ValueError(f'{where}: feature {IMAGE_KEY!r} is a {type(image).__name__}, not an Image.')
  if None in image.shape or len(image.shape) != 3:
    raise ValueError(
      f'{where}: images have shape {image.shape}; jaxgan needs a fixed (H, W, C) '
      'shape and does not resize.'
    )
  if np.dtype(image.np_dtype) != np.uint8:
    raise ValueError(f'{where}: images are {image.np_dtype}; jaxgan expects uint8.')


def _num_classes(builder: tfds.core.DatasetBuilder) -> int | None:
  """The number of classes of the `label` feature, None if there is none."""
  features = builder.info.features
  label = features[LABEL_KEY] if LABEL_KEY in features.keys() else None
  if isinstance(label, tfds.features.ClassLabel):
    return label.num_classes
  return None


def dataset_info(name: str, *, data_dir: str | None = None) -> DatasetInfo:
  """Describes a dataset, cheaply enough to validate a config before compiling.

  For `bundled_mnist` this prepares the dataset into `data_dir` if it is not
  there yet (a few seconds, once); `stacked_mnist` also builds its train
  split in memory (under a second). Any other TFDS dataset must already be
  prepared in `data_dir` in the `array_record` format.

  Args:
    name: the TFDS dataset name (`config.dataset`).
    data_dir: the TFDS data directory (`config.data_dir`); None for TFDS's
      default (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).

  Returns:
    The dataset's `DatasetInfo`.

  Raises:
    ValueError: if the dataset is unknown, not prepared, not readable without
      TensorFlow, or has no fixed-shape uint8 `image` feature.
  """
  return _open_split(name, 'train', data_dir)[0]


def _open_split(name: str, split: str, data_dir: str | None) -> tuple[DatasetInfo, Any]:
  """The dataset's `DatasetInfo` as seen through `split`, and the split's source.

  The source is None for `stacked_mnist`, which exists only in memory.
  """
  if name == STACKED_MNIST:
    images, _ = _decoded_split(name, split, data_dir)
    return DatasetInfo(
      name=name,
      image_shape=images.shape[1:],
      num_classes=STACKED_MNIST_CLASSES,
      num_train_examples=len(images),
    ), None
  builder, source = _data_source(name, split, data_dir)
  return DatasetInfo(
    name=name,
    image_shape=tuple(builder.info.features[IMAGE_KEY].shape),
    num_classes=_num_classes(builder),
    # The source's length rather than `info.splits`: it is what will be read.
    num_train_examples=len(source),
  ), source


def _stack(
  examples: list[dict[str, Any]], with_labels: bool
) -> tuple[np.ndarray, np.ndarray | None]:
  """Stacks decoded examples into uint8 images and int32 labels."""
  images = np.stack([example[IMAGE_KEY] for example in examples])
  labels = None
  if with_labels:
    labels = np.asarray([example[LABEL_KEY] for example in examples], dtype=np.int32)
  return images, labels


@functools.lru_cache(maxsize=4)
def _decoded_split(
  name: str, split: str, data_dir: str | None
) -> tuple[np.ndarray, np.ndarray | None]:
  """Decodes a whole split into uint8 images and int32 labels, once a process.

  Cached because every `BatchIterator` and `load_split` of the same split
  would otherwise pay the decoding again (~7 s for MNIST's train split).
  """
  if name == STACKED_MNIST:
    return _stacked_mnist(split, data_dir)
  builder, source = _data_source(name, split, data_dir)
  shape = builder.info.features[IMAGE_KEY].shape
  with_labels = _num_classes(builder) is not None
  cached = _read_decoded_cache(builder, split, len(source), with_labels)
  if cached is not None:
    return cached
  images = np.empty((len(source), *shape), dtype=np.uint8)
  labels = np.empty((len(source),), dtype=np.int32) if with_labels else None
  for start in range(0, len(source), _DECODE_CHUNK):
    stop = min(start + _DECODE_CHUNK, len(source))
    examples = source.__getitems__(list(range(start, stop)))
    chunk_images, chunk_labels = _stack(examples, with_labels)
    images[start:stop] = chunk_images
    if with_labels:
      labels[start:stop] = chunk_labels
  _write_decoded_cache(builder, split, images, labels)
  # Shared between callers through the cache: make accidental writes fail.
  images.flags.writeable = False
  if labels is not None:
    labels.flags.writeable = False
  return images, labels


def _check_stacked_split(split: str) -> None:
  """Raises ValueError unless `split` is one that `stacked_mnist` builds."""
  if split not in STACKED_MNIST_SIZES:
    raise ValueError(
      f'{STACKED_MNIST!r} has the splits {sorted(STACKED_MNIST_SIZES)}, not '
      f'{split!r} (it is built in memory; TFDS slicing does not apply).'
    )


def stacked_mnist_sources(split: str, num_digits: int) -> np.ndarray:
  """Which MNIST digits make each `stacked_mnist` image.

  Args:
    split: `train` or `test`.
    num_digits: examples in MNIST's split of that name.

  Returns:
    int64 (STACKED_MNIST_SIZES[split], 3): row i holds the indices, in
    MNIST's split, of the digits in image i's R, G and B channels, drawn
    uniformly and independently with a seed fixed per split.

  Raises:
    ValueError: for a split other than `train` and `test`.
  """
  _check_stacked_split(split)
  rng = np.random.default_rng(_STACKED_MNIST_SEEDS[split])
  return rng.integers(num_digits, size=(STACKED_MNIST_SIZES[split], 3))


def _stacked_mnist(split: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
  """Builds a split of `stacked_mnist` from the decoded MNIST digits."""
  _check_stacked_split(split)
  digits, digit_labels = _decoded_split(BUNDLED_MNIST, split, data_dir)
  sources = stacked_mnist_sources(split, len(digits))
  # (N, 3, 28, 28) gathered at once, then the digit axis becomes the channels.
  images = np.ascontiguousarray(np.moveaxis(digits[sources, ..., 0], 1, -1))
  labels = (digit_labels[sources] @ np.array([100, 10, 1], np.int32)).astype(np.int32)
  images.flags.writeable = False
  labels.flags.writeable = False
  return images, labels


def _decoded_cache_paths(builder: tfds.core.DatasetBuilder, split: str) -> tuple[str, str]:
  # Inside the prepared dataset's own folder, so that re-preparing the
  # dataset (which replaces the folder) also drops the cache.
  stem = os.path.join(
    os.fspath(builder.data_dir), 'jaxgan-decoded-' + re.sub(r'[^A-Za-z0-9_.-]', '_', split)
  )
  return stem + '-images.npy', stem + '-labels.npy'


def _read_decoded_cache(
  builder: tfds.core.DatasetBuilder, split: str, count: int, with_labels: bool
) -> tuple[np.ndarray, np.ndarray | None] | None:
  """The split as decoded by an earlier process, or None.

  Decoding MNIST's PNGs takes 6 to 9 s on 2 cores, paid by every run,
  resume and test process; reading the decoded arrays back takes a few ms.
  """
  images_path, labels_path = _decoded_cache_paths(builder, split)
  try:
    images = np.load(images_path, mmap_mode='r')
    labels = np.load(labels_path) if with_labels else None
  except (OSError, ValueError):
    return None
  if images.shape != (count, *builder.info.features[IMAGE_KEY].shape) or (
    labels is not None and labels.shape != (count,)
  ):
    return None
  images = np.array(images)
  images.flags.writeable = False
  if labels is not None:
    labels.flags.writeable = False
  return images, labels


def _write_decoded_cache(
  builder: tfds.core.DatasetBuilder, split: str, images: np.ndarray, labels: np.ndarray | None
) -> None:
  """Saves the decoded split beside the dataset, if that folder is writable."""
  images_path, labels_path = _decoded_cache_paths(builder, split)
  try:
    # Labels first: a reader only trusts the cache once the images exist,
    # and each file appears whole, through a rename.
    for path, array in ((labels_path, labels), (images_path, images)):
      if array is not None:
        temporary = f'{path}.tmp-{os.getpid()}.npy'
        np.save(temporary, array)
        os.replace(temporary, path)
  except OSError:
    pass  # A read-only dataset folder: decode again next time.


def _to_float(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1]."""
  return images.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0)


def load_split(
  name: str, *, split: str, data_dir: str | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
  """Loads a whole split into memory, e.g. real test images for evaluation.

  Args:
    name: the TFDS dataset name.
    split: the split, e.g. `test` or `train[:10%]`.
    data_dir: the TFDS data directory; None for TFDS's default.

  Returns:
    `(images, labels)`: float32 (N, H, W, C) in [-1, 1] and int32 (N,), or None
    for labels if the dataset has no `label` feature.

  Raises:
    ValueError: as `dataset_info`.
  """
  images, labels = _decoded_split(name, split, data_dir)
  return _to_float(images), None if labels is None else labels.copy()


class BatchIterator(Iterator[dict[str, np.ndarray]]):
  """Endless, deterministic, restorable iterator over shuffled batches.

  Epoch `e` visits the split in the order of a permutation derived only from
  `(seed, e)`, cut into `steps_per_epoch` global batches (the remainder is
  dropped). Every process computes the same global batch and keeps its own
  contiguous slice, so `process_count` processes together see exactly the
  batch one process would.

  Small splits (decoded size under `IN_MEMORY_LIMIT_BYTES`) are decoded once
  into memory; larger ones are read batch by batch, the next batch prefetched
  on a background thread.

  Attributes:
    info: the dataset's `DatasetInfo`.
    steps_per_epoch: global batches per epoch.
    global_batch_size: examples per step over all processes.
    local_batch_size: examples per step in this process.
  """

  def __init__(
    self,
    name: str,
    *,
    global_batch_size: int,
    seed: int,
    data_dir: str | None = None,
    split: str = 'train',
    process_index: int = 0,
    process_count: int = 1,
    in_memory: bool | None = None,
  ):
    """Opens the split.

    Args:
      name: the TFDS dataset name (`config.dataset`).
      global_batch_size: examples per step over all processes; must be a
        multiple of `process_count`.
      seed: non-negative shuffling seed.
      data_dir: the TFDS data directory; None for TFDS's default.
      split: the split to read.
      process_index: this process's index, `jax.process_index()`.
      process_count: number of processes, `jax.process_count()`.
      in_memory: whether to decode the whole split into memory first; None
        decides by its size (`IN_MEMORY_LIMIT_BYTES`). Batches are the same
        either way. `stacked_mnist` is always in memory.

    Raises:
      ValueError: for a bad dataset (as `dataset_info`) or bad arguments.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
      raise ValueError(f'seed must be a non-negative integer, got {seed!r}.')
    if not 0 <= process_index < process_count:
      raise ValueError(
        f'process_index={process_index} is not in [0, process_count={process_count}).'
      )
    if global_batch_size <= 0 or global_batch_size % process_count:
      raise ValueError(
        f'global_batch_size={global_batch_size} must be a positive multiple of '
        f'process_count={process_count}.'
      )
    self.info, source = _open_split(name, split, data_dir)
    shape = self.info.image_shape
    self._num_examples = self.info.num_train_examples
    self.global_batch_size = global_batch_size
    self.local_batch_size = global_batch_size // process_count
    self.steps_per_epoch = self._num_examples // global_batch_size
    if self.steps_per_epoch == 0:
      raise ValueError(
        f'global_batch_size={global_batch_size} exceeds the {self._num_examples} '
        f'examples of {name!r} split {split!r}.'
      )
    self._seed = int(seed)
    local_start = process_index * self.local_batch_size
    self._local_slice = slice(local_start, local_start + self.local_batch_size)
    self._with_labels = self.info.num_classes is not None

    if in_memory is None:
      in_memory = self._num_examples * int(np.prod(shape)) <= IN_MEMORY_LIMIT_BYTES
    # A dataset built in memory (`stacked_mnist`) has nothing to stream from.
    in_memory = in_memory or source is None
    self._source = source
    self._arrays = _decoded_split(name, split, data_dir) if in_memory else None
    # Streaming only: one worker loads the next batch while the step runs.
    self._executor = None if in_memory else concurrent.futures.ThreadPoolExecutor(max_workers=1)
    self._prefetched: tuple[tuple[int, int], concurrent.futures.Future] | None = None

    self._permutation_epoch = -1
    self._permutation = np.empty((0,), dtype=np.int64)
    self._epoch = 0
    self._index = 0

  def _epoch_permutation(self, epoch: int) -> np.ndarray:
    """The order of epoch `epoch`: a function of (seed, epoch) only."""
    if epoch != self._permutation_epoch:
      rng = np.random.default_rng(np.random.SeedSequence([self._seed, epoch]))
      self._permutation = rng.permutation(self._num_examples)
      self._permutation_epoch = epoch
    return self._permutation

  def _local_indices(self, epoch: int, index: int) -> np.ndarray:
    """Dataset indices of this process's part of global batch `index` of `epoch`."""
    start = index * self.global_batch_size
    permutation = self._epoch_permutation(epoch)
    return permutation[start : start + self.global_batch_size][self._local_slice]

  def _load(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Reads and converts the examples at `indices`, in that order."""
    if self._arrays is not None:
      images, labels = self._arrays
      images = images[indices]
      labels = None if labels is None else labels[indices]
    else:
      examples = self._source.__getitems__(indices.tolist())
      images, labels = _stack(examples, self._with_labels)
    batch = {IMAGE_KEY: _to_float(images)}
    if labels is not None:
      batch[LABEL_KEY] = labels
    return batch

  def __iter__(self) -> 'BatchIterator':
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    """Returns this process's part of the next global batch.

    Returns:
      `{'image': float32 (local_batch, H, W, C) in [-1, 1], 'label': int32
      (local_batch,)}`; `label` only if the dataset has labels.
    """
    position = (self._epoch, self._index)
    indices = self._local_indices(*position)
    self._index += 1
    if self._index == self.steps_per_epoch:
      self._epoch, self._index = self._epoch + 1, 0
    if self._executor is None:
      return self._load(indices)

    if self._prefetched is not None and self._prefetched[0] == position:
      batch = self._prefetched[1].result()
    else:
      batch = self._load(indices)
    # Permutations are computed here, on the caller's thread, so the worker
    # only touches the data source.
    next_indices = self._local_indices(self._epoch, self._index)
    future = self._executor.submit(self._load, next_indices)
    self._prefetched = ((self._epoch, self._index), future)
    return batch

  @property
  def position(self) -> dict[str, int]:
    """Where the next batch comes from: JSON-serialisable, for checkpoints."""
    return {'epoch': self._epoch, 'index': self._index}

  def restore(self, position: dict[str, int]) -> None:
    """Continues from a `position`: the next batches are those that followed it.

    Args:
      position: a value of `position`, possibly from another process or run
        with the same dataset, seed and global batch size.

    Raises:
      ValueError: if the position is outside this iterator's epochs.
    """
    epoch, index = int(position['epoch']), int(position['index'])
    if epoch < 0 or not 0 <= index < self.steps_per_epoch:
      raise ValueError(f'Position {position} is invalid: {self.steps_per_epoch} steps per epoch.')
    self._epoch, self._index = epoch, index
    # A prefetched batch for any other position is simply not used.

  def close(self) -> None:
    """Stops the prefetch thread, if any."""
    if self._executor is not None:
      self._executor.shutdown(wait=True, cancel_futures=True)
      self._executor = None
      self._prefetched = None
