"""`bundled_mnist`: MNIST prepared offline from the IDX files in the repo.

TFDS's own `mnist` builder downloads its source files, and its images reach
the `Image` feature as numpy arrays, which TFDS encodes to PNG through a
TensorFlow graph. This builder does neither: it reads the original IDX files
from `data/mnist/` (or a manual directory), checks them against the published
MD5 sums, and hands the `Image` feature PNG bytes already encoded with PIL,
which TFDS stores as they are. Preparing it therefore needs neither the
network nor TensorFlow, and with `file_format='array_record'` the result can
be read through `tfds.data_source`.

Importing this module registers the builder under the name `bundled_mnist`.
"""

from collections.abc import Iterator
import gzip
import hashlib
import io
import pathlib
import struct

from etils import epath
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

# The repo's own copy of the IDX files: `<repo>/data/mnist`, beside the package.
DEFAULT_SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2] / 'data' / 'mnist'

_MD5_FILE = 'MD5SUMS.uncompressed'
# Split name -> (images file, labels file, number of examples).
_SPLIT_FILES = {
  'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 60_000),
  'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 10_000),
}
_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049


def _has_source_files(folder: pathlib.Path) -> bool:
  """Whether `folder` holds all four gzipped IDX files and the MD5 list."""
  names = [_MD5_FILE]
  for images, labels, _ in _SPLIT_FILES.values():
    names += [f'{images}.gz', f'{labels}.gz']
  return all((folder / name).is_file() for name in names)


def _read_md5sums(folder: pathlib.Path) -> dict[str, str]:
  """Parses `MD5SUMS.uncompressed` (`md5sum` output) into name -> hex digest."""
  sums = {}
  for line in (folder / _MD5_FILE).read_text().splitlines():
    if line.strip():
      digest, name = line.split(maxsplit=1)
      sums[name.strip().lstrip('*')] = digest.lower()
  return sums


def read_idx(folder: pathlib.Path, name: str, *, expected_md5: str) -> np.ndarray:
  """Reads one gzipped IDX file and checks its decompressed bytes' MD5.

  The MD5 is taken on the decompressed bytes because those are what MNIST
  publishes; the gzip wrapping of our copy differs from the original.

  Args:
    folder: the folder holding `<name>.gz`.
    name: the IDX file name without `.gz`, e.g. `train-images-idx3-ubyte`.
    expected_md5: the hex MD5 the decompressed bytes must have.

  Returns:
    A uint8 array, (N, 28, 28) for an images file, (N,) for a labels file.

  Raises:
    ValueError: if the MD5 differs or the IDX header is not a MNIST one.
  """
  path = folder / f'{name}.gz'
  with gzip.open(path, 'rb') as f:
    raw = f.read()
  md5 = hashlib.md5(raw).hexdigest()
  if md5 != expected_md5:
    raise ValueError(
      f'bundled_mnist: {path} decompresses to bytes with MD5 {md5}, but '
      f'{folder / _MD5_FILE} expects {expected_md5}. The file is corrupt or '
      'not the original MNIST; copy it again from a trusted source.'
    )
  magic, count = struct.unpack('>ii', raw[:8])
  if magic == _IMAGES_MAGIC:
    rows, cols = struct.unpack('>ii', raw[8:16])
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)
  if magic == _LABELS_MAGIC:
    return np.frombuffer(raw, dtype=np.uint8, offset=8).reshape(count)
  raise ValueError(
    f'bundled_mnist: {path} has IDX magic {magic}, expected {_IMAGES_MAGIC} '
    f'(images) or {_LABELS_MAGIC} (labels).'
  )


def _png_bytes(image: np.ndarray) -> bytes:
  """Encodes a (28, 28) uint8 image as PNG with PIL.

  TFDS stores bytes given to the `Image` feature as they are; a numpy array
  would instead be encoded by a TensorFlow graph, which we do not want to need.
  """
  buffer = io.BytesIO()
  Image.fromarray(image, mode='L').save(buffer, format='PNG')
  return buffer.getvalue()


class BundledMnist(tfds.core.GeneratorBasedBuilder):
  """MNIST from the IDX files shipped with jaxgan; no download, no TensorFlow."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release: MNIST from the bundled IDX files.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
    'Optional. Place train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, '
    't10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz and '
    f'{_MD5_FILE} in the manual directory to prepare from them instead of '
    f"the repo's copy in {DEFAULT_SOURCE_DIR}."
  )

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    # TFDS's default looks the module up through `importlib_resources`, a
    # package it only declares for Python < 3.9, so on a clean 3.11 install it
    # fails with ModuleNotFoundError for any builder outside TFDS itself.
    return epath.Path(__file__)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
      builder=self,
      description=(
        'MNIST handwritten digits (LeCun, Cortes, Burges), prepared from '
        'the IDX files bundled with jaxgan.'
      ),
      features=tfds.features.FeaturesDict(
        {
          'image': tfds.features.Image(shape=(28, 28, 1), dtype=np.uint8, encoding_format='png'),
          'label': tfds.features.ClassLabel(num_classes=10),
        }
      ),
      supervised_keys=('image', 'label'),
      homepage='http://yann.lecun.com/exdb/mnist/',
    )

  def _source_dir(self, dl_manager: tfds.download.DownloadManager) -> pathlib.Path:
    """The manual directory when it holds the files, else the repo's copy."""
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except (AssertionError, ValueError):
      # TFDS raises AssertionError when the manual directory is missing or
      # empty: the normal case here, since the repo carries its own copy.
      manual_dir = None
    if manual_dir is not None and _has_source_files(manual_dir):
      return manual_dir
    if _has_source_files(DEFAULT_SOURCE_DIR):
      return DEFAULT_SOURCE_DIR
    raise FileNotFoundError(
      'bundled_mnist: the MNIST IDX files (*-idx?-ubyte.gz) and '
      f'{_MD5_FILE} were found neither in the manual directory '
      f'({manual_dir}) nor in {DEFAULT_SOURCE_DIR}.'
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    folder = self._source_dir(dl_manager)
    return {split: self._generate_examples(folder, split) for split in _SPLIT_FILES}

  def _generate_examples(
    self, folder: pathlib.Path, split: str
  ) -> Iterator[tuple[int, dict[str, bytes | int]]]:
    images_name, labels_name, num_examples = _SPLIT_FILES[split]
    md5sums = _read_md5sums(folder)
    for name in (images_name, labels_name):
      if name not in md5sums:
        raise ValueError(f'bundled_mnist: {folder / _MD5_FILE} lists no MD5 for {name}.')
    images = read_idx(folder, images_name, expected_md5=md5sums[images_name])
    labels = read_idx(folder, labels_name, expected_md5=md5sums[labels_name])
    if len(images) != num_examples or len(labels) != num_examples:
      raise ValueError(
        f'bundled_mnist: {split} has {len(images)} images and {len(labels)} '
        f'labels; expected {num_examples} of each.'
      )
    for index, (image, label) in enumerate(zip(images, labels)):
      yield index, {'image': _png_bytes(image), 'label': int(label)}
