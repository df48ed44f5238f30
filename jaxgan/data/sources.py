"""What the input pipeline can read, as random-access sources of examples.

Every source follows grain's `RandomAccessDataSource` protocol (`__len__`,
`__getitem__`, `__getitems__`) and returns examples as dicts: `{'image':
uint8 (H, W, C), 'label': int}` (the label only when asked for) or
`{'point': float32 (2,)}`. A source is chosen by `open_source(source, ...)`:

- a folder of PNG and JPEG images (`source` is a path or URL, see
  `is_folder`), decoded only when an example is read;
- `ring2d` and `grid2d`, the 2-D Gaussian mixtures of `mixtures`;
- `stacked_mnist`, built in memory from `bundled_mnist`;
- `mnist2textured`, the unpaired two-domain dataset for CycleGAN (MNIST
  digits, and digits on coloured textures as in MNIST-M; see
  `textured_mnist`), built in memory from `bundled_mnist`, with the splits
  `trainA`, `trainB`, `testA` and `testB`;
- any TFDS image dataset, read through `tfds.data_source` (ArrayRecord files,
  never TensorFlow). Splits that decode to at most `IN_MEMORY_LIMIT_BYTES`
  are decoded once into memory (and cached as .npy beside the prepared
  dataset); larger ones, and those whose images vary in size, stream.

In-memory sources load their arrays on first read and are pickled to
grain's worker processes without them: each worker loads the split itself
(from the .npy cache) instead of receiving a copy through a pipe.
"""

from collections.abc import Callable, Sequence
import dataclasses
import functools
import io
import os
import re
from typing import Any

from etils import epath
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

from jaxgan.data import bundled_mnist
from jaxgan.data import mixtures
from jaxgan.data import textured_mnist
from jaxgan.data import transforms

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
# MNIST digits (domain A) and MNIST-M-like textured digits (domain B), for
# CycleGAN: 32x32, splits 'trainA', 'trainB', 'testA', 'testB'.
MNIST2TEXTURED = textured_mnist.MNIST2TEXTURED
# The 2-D point datasets.
RING2D = mixtures.RING2D
GRID2D = mixtures.GRID2D

IMAGE_KEY = 'image'
LABEL_KEY = 'label'
POINT_KEY = 'point'
# Splits whose decoded uint8 images fit under this size are decoded once and
# kept in memory: decoding PNGs costs ~100 us an image with PIL, which would
# dominate a ~7 ms training step on CPU if paid per batch.
IN_MEMORY_LIMIT_BYTES = 2 * 1024**3
# Examples decoded per `__getitems__` call when decoding a whole split.
_DECODE_CHUNK = 2048
# What a folder source reads (compared in lower case).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')
# A source that starts like this is a folder (or bucket), not a TFDS name.
_FOLDER_PREFIXES = ('/', './', '../', '~')
_URL = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What the trainer needs to know about a dataset before building models.

  Attributes:
    source: the dataset, as configured (a TFDS name, a special name, or a
      folder).
    shape: of one example after the transforms: (H, W, C) for images, (2,)
      for points.
    num_classes: label classes when labels were asked for, else None.
    num_examples: examples in the split read.
    feature: the example's key, 'image' or 'point'.
  """

  source: str
  shape: tuple[int, ...]
  num_classes: int | None
  num_examples: int
  feature: str


def is_folder(source: str) -> bool:
  """Whether `source` names a folder of images rather than a dataset.

  A folder is given as a path (starting with '/', './', '../' or '~'), a URL
  (e.g. 'gs://bucket/images'), or the name of an existing directory.
  """
  return source.startswith(_FOLDER_PREFIXES) or bool(_URL.match(source)) or os.path.isdir(source)


# ---------------------------------------------------------------------------
# In-memory sources: small TFDS splits, MNIST variants, 2-D points.
# ---------------------------------------------------------------------------


class ArraySource:
  """Examples held as arrays in memory, one row each, loaded on first read.

  Loading is deferred so that `dataset_info` stays cheap, and so that a
  process whose batches are read by worker processes never loads them.

  Attributes:
    feature: 'image' or 'point'.
    example_shape: the shape of one example as stored.
    num_classes: label classes if labels are served, else None.
  """

  def __init__(
    self,
    load: Callable[[], dict[str, np.ndarray]],
    *,
    length: int,
    example_shape: tuple[int, ...],
    feature: str,
    num_classes: int | None,
  ):
    """Describes the arrays that `load` will return.

    Args:
      load: a picklable function returning feature name -> array with one
        row per example (read-only arrays are fine). What a worker process
        unpickles, instead of a copy of the arrays.
      length: the number of rows.
      example_shape: the shape of one row of `arrays[feature]`.
      feature: the example key, `IMAGE_KEY` or `POINT_KEY`.
      num_classes: label classes if the arrays hold `LABEL_KEY`, else None.
    """
    self._load = load
    self._arrays = None
    self._length = length
    self.example_shape = tuple(example_shape)
    self.feature = feature
    self.num_classes = num_classes

  @property
  def arrays(self) -> dict[str, np.ndarray]:
    if self._arrays is None:
      self._arrays = self._load()
    return self._arrays

  def __len__(self) -> int:
    return self._length

  def __getitem__(self, index: int) -> dict[str, Any]:
    return {key: array[index] for key, array in self.arrays.items()}

  def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
    return [self[i] for i in indices]

  def gather(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    """The examples at `indices`, stacked: one fancy index per array."""
    return {key: array[indices] for key, array in self.arrays.items()}

  def describe(self, index: int) -> str:
    return f'example {index}'

  def __getstate__(self) -> dict[str, Any]:
    return {**self.__dict__, '_arrays': None}


def _point_arrays(name: str) -> dict[str, np.ndarray]:
  points = mixtures.training_points(name)
  points.flags.writeable = False
  return {POINT_KEY: points}


def _point_source(name: str) -> ArraySource:
  return ArraySource(
    functools.partial(_point_arrays, name),
    length=mixtures.NUM_POINTS,
    example_shape=(2,),
    feature=POINT_KEY,
    num_classes=None,
  )


def _split_arrays(
  name: str, split: str, data_dir: str | None, with_labels: bool
) -> dict[str, np.ndarray]:
  images, labels = _decoded_split(name, split, data_dir)
  return {IMAGE_KEY: images, LABEL_KEY: labels} if with_labels else {IMAGE_KEY: images}


def _in_memory_source(
  name: str,
  split: str,
  data_dir: str | None,
  *,
  with_labels: bool,
  num_classes: int | None,
  length: int,
  example_shape: tuple[int, ...],
) -> ArraySource:
  return ArraySource(
    functools.partial(_split_arrays, name, split, data_dir, with_labels),
    length=length,
    example_shape=example_shape,
    feature=IMAGE_KEY,
    num_classes=num_classes if with_labels else None,
  )


# ---------------------------------------------------------------------------
# TFDS datasets.
# ---------------------------------------------------------------------------


def _where(name: str, config_field: str) -> str:
  return f'{config_field}.source={name!r}'


def _builder(name: str, data_dir: str | None, config_field: str) -> tfds.core.DatasetBuilder:
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
      f'{_where(name, config_field)} is not a TFDS dataset. Use a name from '
      "`tfds.list_builders()` (e.g. 'mnist', 'cifar10', 'celeb_a'), "
      f'{BUNDLED_MNIST!r} (MNIST prepared offline from the files bundled with '
      f'jaxgan), {STACKED_MNIST!r}, {MNIST2TEXTURED!r}, {RING2D!r}, {GRID2D!r}, '
      "or a folder of images given as a path ('/data/faces', './faces', "
      "'gs://bucket/faces')."
    ) from e


def _not_readable_error(
  builder: tfds.core.DatasetBuilder, data_dir: str | None, config_field: str
) -> ValueError:
  """Explains why `builder`'s data cannot be read through `tfds.data_source`."""
  name = builder.name
  where = _where(name, config_field)
  fix = (
    f'Prepare it with `tfds build {name} --data_dir=DATA_DIR '
    '--file_format=array_record` (this needs `pip install tensorflow` and, for '
    f'most datasets, internet access) and set {config_field}.data_dir=DATA_DIR, '
    f"or set {config_field}.source='{BUNDLED_MNIST}', which needs neither."
  )
  if not builder.is_prepared():
    return ValueError(
      f'{where} is not prepared in {config_field}.data_dir={data_dir or ""!r}: '
      f'no dataset_info.json in {builder.data_dir}. {fix}'
    )
  formats = [f.value for f in builder.info.available_file_formats()]
  return ValueError(
    f'{where} is prepared in {builder.data_dir} as '
    f'{formats or builder.info.file_format}, but jaxgan reads data through '
    '`tfds.data_source`, which needs a random access format (array_record). '
    f'{fix}'
  )


def _check_features(builder: tfds.core.DatasetBuilder, config_field: str) -> None:
  """Checks that the dataset has a uint8 (H, W, C) `image` feature."""
  features = builder.info.features
  where = _where(builder.name, config_field)
  if features is None or IMAGE_KEY not in features.keys():
    keys = sorted(features.keys()) if features is not None else []
    raise ValueError(
      f'{where} has no {IMAGE_KEY!r} feature (its features: {keys}); jaxgan '
      f'reads images from a feature named {IMAGE_KEY!r}.'
    )
  image = features[IMAGE_KEY]
  if not isinstance(image, tfds.features.Image):
    raise ValueError(f'{where}: feature {IMAGE_KEY!r} is a {type(image).__name__}, not an Image.')
  if len(image.shape) != 3 or image.shape[-1] is None:
    raise ValueError(f'{where}: images have shape {image.shape}; jaxgan needs (H, W, C).')
  if np.dtype(image.np_dtype) != np.uint8:
    raise ValueError(f'{where}: images are {image.np_dtype}; jaxgan expects uint8.')


def _num_classes(builder: tfds.core.DatasetBuilder) -> int | None:
  """The number of classes of the `label` feature, None if there is none."""
  features = builder.info.features
  label = features[LABEL_KEY] if LABEL_KEY in features.keys() else None
  if isinstance(label, tfds.features.ClassLabel):
    return label.num_classes
  return None


def _data_source(
  name: str, split: str, data_dir: str | None, config_field: str = 'config.data'
) -> tuple[tfds.core.DatasetBuilder, Any]:
  """Returns the builder and the TFDS random-access source of one split.

  Raises:
    ValueError: if `name` is unknown, not prepared, or not in a random-access
      format, or its features are not an `image` (and optional `label`).
  """
  builder = _builder(name, data_dir, config_field)
  _check_features(builder, config_field)
  try:
    # What `tfds.data_source(name, split=..., download=False)` does, without
    # building the builder a second time.
    source = builder.as_data_source(split=split)
  except Exception as e:  # pylint: disable=broad-except
    # TFDS raises assorted types here (unknown split, missing files, format);
    # say which case it is in terms of the config when we can tell.
    if not builder.is_prepared() or not builder.info.available_file_formats():
      raise _not_readable_error(builder, data_dir, config_field) from e
    raise
  return builder, source


class TfdsSource:
  """A TFDS split read example by example (the streaming path).

  Attributes:
    feature: 'image'.
    example_shape: (H, W, C), None for a side that varies.
    num_classes: label classes if labels are served, else None.
  """

  def __init__(
    self,
    name: str,
    split: str,
    data_dir: str | None,
    with_labels: bool,
    config_field: str = 'config.data',
  ):
    """Opens the split.

    Raises:
      ValueError: as `open_source`.
    """
    self._args = (name, split, data_dir, with_labels, config_field)
    builder, self._source = _data_source(name, split, data_dir, config_field)
    self.feature = IMAGE_KEY
    self.example_shape = tuple(builder.info.features[IMAGE_KEY].shape)
    self.num_classes = _num_classes(builder) if with_labels else None
    self._with_labels = with_labels

  def __len__(self) -> int:
    return len(self._source)

  def _keep(self, example: dict[str, Any]) -> dict[str, Any]:
    # Only what the pipeline uses; datasets such as celeb_a carry more.
    kept = {IMAGE_KEY: example[IMAGE_KEY]}
    if self._with_labels:
      kept[LABEL_KEY] = example[LABEL_KEY]
    return kept

  def __getitem__(self, index: int) -> dict[str, Any]:
    return self._keep(self._source[int(index)])

  def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
    examples = self._source.__getitems__([int(i) for i in indices])
    return [self._keep(example) for example in examples]

  def describe(self, index: int) -> str:
    return f'example {index}'

  def __reduce__(self):
    return TfdsSource, self._args


def _stack(
  examples: list[dict[str, Any]], with_labels: bool
) -> tuple[np.ndarray, np.ndarray | None]:
  """Stacks decoded examples into uint8 images and int32 labels."""
  images = np.stack([example[IMAGE_KEY] for example in examples])
  labels = None
  if with_labels:
    labels = np.asarray([example[LABEL_KEY] for example in examples], dtype=np.int32)
  return images, labels


# Six: a CycleGAN run on `mnist2textured` reads its four splits, built from
# both of MNIST's.
@functools.lru_cache(maxsize=6)
def _decoded_split(
  name: str, split: str, data_dir: str | None
) -> tuple[np.ndarray, np.ndarray | None]:
  """Decodes a whole split into uint8 images and int32 labels, once a process.

  Cached because every iterator and `load_split` of the same split would
  otherwise pay the decoding again (~7 s for MNIST's train split).
  """
  if name == STACKED_MNIST:
    return _stacked_mnist(split, data_dir)
  if name == MNIST2TEXTURED:
    return _mnist2textured(split, data_dir)
  builder, source = _data_source(name, split, data_dir)
  shape = builder.info.features[IMAGE_KEY].shape
  if None in shape:
    raise ValueError(
      f'{name!r} split {split!r} has images of different sizes '
      f'(shape {shape}); they cannot be loaded as one array.'
    )
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
  resume, worker and test process; reading the decoded arrays back takes a
  few ms.
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


# ---------------------------------------------------------------------------
# Stacked MNIST.
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# MNIST and textured MNIST, the two domains of `mnist2textured`.
# ---------------------------------------------------------------------------


def _mnist2textured(split: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
  """Builds a split of `mnist2textured` from the decoded MNIST digits."""
  textured_mnist.check_split(split)
  digits, labels = _decoded_split(BUNDLED_MNIST, textured_mnist.DIGITS[split].split, data_dir)
  return textured_mnist.build_split(split, digits, labels)


# ---------------------------------------------------------------------------
# Folders of images.
# ---------------------------------------------------------------------------


def _folder_root(source: str) -> str:
  """The folder as an absolute path or URL, so that workers find it too."""
  if _URL.match(source):
    return source.rstrip('/')
  return os.path.abspath(os.path.expanduser(source))


@functools.lru_cache(maxsize=8)
def _list_images(root: str) -> tuple[str, ...]:
  """Paths of the PNG and JPEG files under `root`, relative, '/'-separated, sorted.

  Hidden files and folders (a leading '.', e.g. macOS's `._x.jpg`) are
  skipped. Cached: a folder is listed once a process (listing a bucket of
  200,000 files takes a while), so files added during a run are not seen.
  """
  files = []
  for folder, subfolders, names in epath.Path(root).walk():
    subfolders[:] = [name for name in subfolders if not name.startswith('.')]
    # The walk yields `root` itself, then `root/a`, `root/a/b`, ...
    relative = os.fspath(folder)[len(root) :].strip('/')
    prefix = relative + '/' if relative else ''
    files += [
      prefix + name
      for name in names
      if not name.startswith('.') and name.lower().endswith(IMAGE_EXTENSIONS)
    ]
  return tuple(sorted(files))


def decode_image(path: epath.PathLike, mode: str) -> np.ndarray:
  """Reads and decodes one image file with PIL.

  Args:
    path: the file, local or a URL that `etils.epath` reads (e.g. gs://).
    mode: 'L' (grayscale) or 'RGB'; other modes (palette, RGBA, CMYK, 16-bit
      gray) are converted to it by PIL, an alpha channel dropped.

  Returns:
    uint8 (H, W, 1) for 'L', (H, W, 3) for 'RGB'.

  Raises:
    ValueError: if the file cannot be read or is not an image PIL decodes.
  """
  try:
    content = epath.Path(path).read_bytes()
    # `Image.open` looked up at call time, so a test can count the decodes.
    with Image.open(io.BytesIO(content)) as image:
      if image.mode == 'P' and 'transparency' in image.info:
        # Through RGBA, as PIL asks (it warns on a direct conversion).
        image = image.convert('RGBA')
      array = np.asarray(image.convert(mode))
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise ValueError(f'Cannot decode the image {path}: {e}') from e
  return array[..., None] if mode == 'L' else array


class FolderSource:
  """The PNG and JPEG images under a folder, decoded when read.

  Holds only the file list (and labels), so memory does not grow with the
  number of images. Pickled by value: sending 200,000 names to a worker
  process takes milliseconds, listing a bucket again could take minutes.

  Attributes:
    feature: 'image'.
    example_shape: (H, W, C) of the first image, decoded to learn it.
    num_classes: the number of class subfolders if labels are served, else
      None.
    classes: the class subfolders' names, in label order (None without
      labels).
  """

  def __init__(
    self,
    source: str,
    *,
    with_labels: bool,
    channels: int,
    config_field: str = 'config.data',
  ):
    """Lists the folder and decodes its first image.

    Args:
      source: the folder, as configured.
      with_labels: serve the class of each image: the index, in sorted
        order, of the top-level subfolder it is in.
      channels: 1 to decode to grayscale; 0 or 3 to RGB (so a folder that
        mixes gray and color images gives one shape).
      config_field: the config path of the data fields, for the messages.

    Raises:
      ValueError: if the folder is missing, holds no images, or labels are
        asked for and the images are not all in class subfolders.
    """
    where = _where(source, config_field)
    self.root = _folder_root(source)
    if not epath.Path(self.root).is_dir():
      raise ValueError(
        f'{where} is not a folder ({self.root} does not exist); point it at a '
        'folder of images, or use a TFDS name without a path prefix.'
      )
    self.files = _list_images(self.root)
    if not self.files:
      raise ValueError(
        f'{where} holds no images ({", ".join(IMAGE_EXTENSIONS)}, searched '
        'recursively, any case); point it at a folder of PNG or JPEG files.'
      )
    self.feature = IMAGE_KEY
    self._mode = 'L' if channels == 1 else 'RGB'
    self.labels, self.classes, self.num_classes = None, None, None
    if with_labels:
      at_root = [name for name in self.files if '/' not in name]
      if at_root:
        raise ValueError(
          f'{where} has {len(at_root)} images at its top level (e.g. {at_root[0]!r}), '
          'so they have no class: for labels, put each class in a subfolder of its '
          f'own ({self.root}/CLASS_NAME/*.jpg), or train without labels.'
        )
      top = [name.split('/', 1)[0] for name in self.files]
      self.classes = tuple(sorted(set(top)))
      index = {name: i for i, name in enumerate(self.classes)}
      self.labels = np.asarray([index[name] for name in top], dtype=np.int32)
      self.num_classes = len(self.classes)
    self.example_shape = self[0][IMAGE_KEY].shape

  def __len__(self) -> int:
    return len(self.files)

  def describe(self, index: int) -> str:
    return f'{self.root}/{self.files[index]}'

  def __getitem__(self, index: int) -> dict[str, Any]:
    example = {IMAGE_KEY: decode_image(self.describe(index), self._mode)}
    if self.labels is not None:
      example[LABEL_KEY] = self.labels[index]
    return example

  def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
    return [self[i] for i in indices]


# ---------------------------------------------------------------------------
# Choosing a source.
# ---------------------------------------------------------------------------


def open_source(
  source: str,
  *,
  split: str = 'train',
  data_dir: str | None = None,
  with_labels: bool = False,
  channels: int = 0,
  config_field: str = 'config.data',
):
  """Opens what `source` names, ready for random access.

  Args:
    source: a folder of images (see `is_folder`), 'ring2d', 'grid2d',
      'stacked_mnist', 'mnist2textured', or a TFDS name.
    split: the split to read (TFDS slicing such as 'train[:10%]' works for
      TFDS datasets); folders and 2-D points have only 'train',
      'mnist2textured' has 'trainA', 'trainB', 'testA' and 'testB'.
    data_dir: the TFDS data directory; None for TFDS's default.
    with_labels: serve int labels under 'label'.
    channels: for folders, 1 decodes to grayscale, else RGB.
    config_field: the config path of the data fields, for the messages.

  Returns:
    An `ArraySource`, `TfdsSource` or `FolderSource`.

  Raises:
    ValueError: with the field to change and how, if the source is unknown,
      unprepared, unreadable, empty, or has no labels when asked for them.
  """
  where = _where(source, config_field)
  if not isinstance(source, str) or not source:
    raise ValueError(f'{where} must name a dataset or a folder of images.')
  folder = is_folder(source)
  if (folder or source in (RING2D, GRID2D)) and split != 'train':
    raise ValueError(
      f'{config_field}.split={split!r} does not apply to {where}, which has one '
      f"split; set {config_field}.split='train'."
    )
  if folder:
    return FolderSource(
      source, with_labels=with_labels, channels=channels, config_field=config_field
    )
  if source in (RING2D, GRID2D):
    if with_labels:
      raise ValueError(f'{where} has no labels; use an unconditional config with it.')
    return _point_source(source)
  if source == STACKED_MNIST:
    _check_stacked_split(split)
    _data_source(BUNDLED_MNIST, split, data_dir, config_field)  # Prepares MNIST if needed.
    return _in_memory_source(
      source,
      split,
      data_dir,
      with_labels=with_labels,
      num_classes=STACKED_MNIST_CLASSES,
      length=STACKED_MNIST_SIZES[split],
      example_shape=(28, 28, 3),
    )
  if source == MNIST2TEXTURED:
    textured_mnist.check_split(split)
    # Prepares MNIST if needed.
    _data_source(BUNDLED_MNIST, textured_mnist.DIGITS[split].split, data_dir, config_field)
    return _in_memory_source(
      source,
      split,
      data_dir,
      with_labels=with_labels,
      num_classes=textured_mnist.NUM_CLASSES,
      length=textured_mnist.SIZES[split],
      example_shape=textured_mnist.image_shape(split),
    )
  builder, data_source = _data_source(source, split, data_dir, config_field)
  num_classes = _num_classes(builder)
  if with_labels and num_classes is None:
    raise ValueError(
      f"{where} has no 'label' class feature, so it cannot give labels; use an "
      'unconditional config with it, or a dataset with labels.'
    )
  shape = builder.info.features[IMAGE_KEY].shape
  if None not in shape and len(data_source) * int(np.prod(shape)) <= IN_MEMORY_LIMIT_BYTES:
    return _in_memory_source(
      source,
      split,
      data_dir,
      with_labels=with_labels,
      num_classes=num_classes,
      length=len(data_source),
      example_shape=shape,
    )
  return TfdsSource(source, split, data_dir, with_labels, config_field)


def load_split(
  name: str, *, split: str, data_dir: str | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
  """Loads a whole split into memory, e.g. real test images for evaluation.

  Args:
    name: the TFDS dataset name, 'stacked_mnist' or 'mnist2textured'.
    split: the split, e.g. `test` or `train[:10%]` (`testA`, `testB` for
      'mnist2textured').
    data_dir: the TFDS data directory; None for TFDS's default.

  Returns:
    `(images, labels)`: float32 (N, H, W, C) in [-1, 1] and int32 (N,), or None
    for labels if the dataset has no `label` feature.

  Raises:
    ValueError: as `open_source`, or if the images vary in size.
  """
  images, labels = _decoded_split(name, split, data_dir)
  return transforms.to_float(images), None if labels is None else labels.copy()
