"""`mnist2textured`: an unpaired two-domain dataset for CycleGAN, from MNIST.

Domain A is MNIST's digits, zero-padded to 32x32x1. Domain B imitates
MNIST-M (Ganin & Lempitsky 2015, "Unsupervised domain adaptation by
backpropagation"): digits blended onto coloured textures by
`|texture - digit|`, so that the stroke shows the texture's colours
inverted. MNIST-M cuts its textures from BSDS500 photographs; ours are
generated (`textures`), so the dataset is built offline, in a few seconds,
and the same in every process.

The splits are named as in CycleGAN's datasets (the reference code's folders
and TFDS's `cycle_gan/*`): `trainA` and `trainB` take disjoint halves of
MNIST's train split, so no digit image appears in both domains (the data
are unpaired, as CycleGAN assumes); `testA` and `testB` are MNIST's whole
test split in each domain, so a translation of testA can be compared with
the same digit in testB. Every split keeps the digits' labels, for scoring
translations with a digit classifier.

This module only computes arrays; `sources` serves them (`open_source`,
`load_split`, `dataset_info` with source 'mnist2textured').
"""

from typing import NamedTuple

import numpy as np

MNIST2TEXTURED = 'mnist2textured'
# CycleGAN's split names: A and B are the two domains.
SPLITS = ('trainA', 'trainB', 'testA', 'testB')
# The splits of domain B, the textured one.
TEXTURED_SPLITS = ('trainB', 'testB')
NUM_CLASSES = 10
# MNIST's 28x28 digits padded by 2 on each side (MNIST-M itself is 28x28):
# sides that CycleGAN's strided generators take, and that the MNIST
# evaluator reads back as padded digits.
SIZE = 32
PAD = (SIZE - 28) // 2


class Digits(NamedTuple):
  """Where a split's digits come from: MNIST's `split`, rows [start, stop)."""

  split: str
  start: int
  stop: int


# The two train domains split MNIST's 60,000 train digits in halves, so that
# they never share a digit image; both test domains hold all 10,000 test
# digits, in the same order (row i of testA and testB is the same digit).
DIGITS = {
  'trainA': Digits('train', 0, 30_000),
  'trainB': Digits('train', 30_000, 60_000),
  'testA': Digits('test', 0, 10_000),
  'testB': Digits('test', 0, 10_000),
}
SIZES = {split: digits.stop - digits.start for split, digits in DIGITS.items()}
# Seeds of the textures, one per textured split, fixed so that every process
# and run builds the same dataset; different, so that testB's backgrounds
# are not trainB's.
TEXTURE_SEEDS = {'trainB': 0x7E47, 'testB': 0x7E48}

# Textures are generated in chunks of this many, each from its own seed
# (the split's seed and the chunk's index): memory stays bounded, and the
# first k textures of a seed do not depend on how many are asked for.
# 128: the arrays of a chunk then fit in cache (~25% faster than 1024).
_CHUNK = 128


def check_split(split: str) -> None:
  """Raises ValueError unless `split` is one of the four `SPLITS`."""
  if split not in SPLITS:
    raise ValueError(
      f'{MNIST2TEXTURED!r} has the splits {list(SPLITS)}, not {split!r} (it is '
      'built in memory; TFDS slicing does not apply).'
    )


def image_shape(split: str) -> tuple[int, int, int]:
  """The shape of one image of `split`: (32, 32, 3) in domain B, else (32, 32, 1)."""
  check_split(split)
  return (SIZE, SIZE, 3 if split in TEXTURED_SPLITS else 1)


def pad_digits(digits: np.ndarray) -> np.ndarray:
  """Domain A's images: the digits with 2 black pixels added on each side.

  Args:
    digits: uint8 (N, 28, 28) or (N, 28, 28, 1).

  Returns:
    uint8 (N, 32, 32, 1).
  """
  digits = np.asarray(digits)
  if digits.ndim == 4:
    digits = digits[..., 0]
  return np.pad(digits, ((0, 0), (PAD, PAD), (PAD, PAD)))[..., None]


def blend(digits: np.ndarray, backgrounds: np.ndarray) -> np.ndarray:
  """Domain B's images: MNIST-M's blend of digits onto textures.

  Each channel is `|texture - digit|`: where the digit is black (0) the
  texture shows unchanged, where it is white (255) its colour is inverted,
  and antialiased edges fall in between.

  Args:
    digits: uint8 (N, 28, 28) or (N, 28, 28, 1); padded to 32x32 here.
    backgrounds: uint8 (N, 32, 32, 3), e.g. from `textures`.

  Returns:
    uint8 (N, 32, 32, 3).

  Raises:
    ValueError: unless the backgrounds are uint8, one 32x32x3 per digit.
  """
  padded = pad_digits(digits)
  backgrounds = np.asarray(backgrounds)
  if backgrounds.shape != (len(padded), SIZE, SIZE, 3) or backgrounds.dtype != np.uint8:
    raise ValueError(
      f'blend needs uint8 backgrounds of shape {(len(padded), SIZE, SIZE, 3)} for '
      f'{len(padded)} digits, not {backgrounds.dtype} {backgrounds.shape}.'
    )
  # |a - b| as max - min, which stays in uint8: widening 30,000 images to
  # int16 and back would take most of the time.
  out = np.maximum(backgrounds, padded)
  out -= np.minimum(backgrounds, padded)
  return out


def _smooth_upsampling(cells: int, size: int) -> np.ndarray:
  """The (size, cells) matrix that interpolates `cells` values to `size` pixels.

  Smoothstep weights rather than linear ones, so that upsampled noise has no
  creases at the cell borders.
  """
  position = np.linspace(0.0, cells - 1.0, size)
  low = np.minimum(np.floor(position).astype(int), cells - 2)
  weight = position - low
  weight = weight * weight * (3.0 - 2.0 * weight)
  matrix = np.zeros((size, cells), np.float32)
  matrix[np.arange(size), low] = 1.0 - weight
  matrix[np.arange(size), low + 1] = weight
  return matrix


def _unit_range(fields: np.ndarray) -> np.ndarray:
  """Rescales each (N, size, size) field to span [0, 1] exactly."""
  low = fields.min(axis=(1, 2), keepdims=True)
  high = fields.max(axis=(1, 2), keepdims=True)
  return (fields - low) / np.maximum(high - low, 1e-6)


def _texture_chunk(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
  """`count` textures, float32 (count, 3, size, size) in [0, 255].

  Channels first: every operation then runs over whole planes of pixels;
  channels last, numpy's inner loops would be 3 long and take ~2x longer.
  """
  n = count
  grid = np.arange(size, dtype=np.float32) / size
  # Two scales of smoothed noise (blobs): 4x4 and 8x8 random values per
  # image, interpolated to the image size.
  blobs = []
  for cells in (4, 8):
    upsample = _smooth_upsampling(cells, size)
    noise = rng.standard_normal((n, cells, cells), dtype=np.float32)
    blobs.append(upsample @ noise @ upsample.T)
  # Two sinusoid gratings of random frequency (1.5 to 8 cycles across the
  # image), orientation and phase, their phase warped by the coarse blobs so
  # that some bend like wood grain or marble.
  frequency = np.exp(rng.uniform(np.log(1.5), np.log(8.0), (n, 2, 1, 1)))
  angle = rng.uniform(0.0, np.pi, (n, 2, 1, 1))
  phase = rng.uniform(0.0, 2.0 * np.pi, (n, 2, 1, 1)).astype(np.float32)
  warp = rng.uniform(0.0, 2.0, (n, 2, 1, 1)).astype(np.float32) ** 2
  # The phase 2 pi f (x cos(angle) + y sin(angle)), as a sum of a row and a
  # column term, so that only the sum is image-sized.
  across = (2.0 * np.pi * frequency * np.cos(angle)).astype(np.float32) * grid[None, :]
  down = (2.0 * np.pi * frequency * np.sin(angle)).astype(np.float32) * grid[:, None]
  gratings = np.sin(across + down + phase + warp * blobs[0][:, None])
  # Blobs have a standard deviation of ~0.5, gratings ~0.7: comparable, so
  # the random weights below decide which dominates a texture.
  components = np.concatenate([gratings, blobs[0][:, None], blobs[1][:, None]], axis=1)
  # Two fields per texture, each a random mix of the four components: the
  # first moves the colour between two base colours, the second pulls it
  # towards a third. Raising Dirichlet weights to a power makes most mixes
  # dominated by one or two components, for more distinct kinds of texture.
  mixes = rng.dirichlet(np.full(4, 0.5), (n, 2)).astype(np.float32) ** 1.5
  fields = mixes @ components.reshape(n, 4, size * size)
  fields = _unit_range(fields.reshape(n * 2, size, size)).reshape(n, 2, size, size)
  # A random contrast curve: sharpness near 1 keeps smooth gradients, up to
  # 10 turns them into hard-edged stripes and patches. Normalised so that
  # [0, 1] still maps onto [0, 1].
  sharpness = np.exp(rng.uniform(0.0, np.log(10.0), (n, 2, 1, 1))).astype(np.float32)
  fields = 0.5 + (0.5 / np.tanh(0.5 * sharpness)) * np.tanh(sharpness * (fields - 0.5))
  # Three colours per texture. The first two must differ clearly, or the
  # texture would be flat: where they are close, every channel of the
  # second is moved 100 levels away from the first.
  colours = rng.uniform(0.0, 255.0, (n, 3, 3))
  first, second, third = colours[:, 0], colours[:, 1], colours[:, 2]
  close = np.linalg.norm(second - first, axis=-1, keepdims=True) < 100.0
  second = np.where(close, np.where(first < 128.0, first + 100.0, first - 100.0), second)
  # An overall brightness, applied to the colours (the mixing is linear):
  # dark textures keep the inverted digit bright, light ones make it dark,
  # mid-grey ones make it faint, as in MNIST-M.
  brightness = rng.uniform(0.55, 1.15, (n, 1))
  first, second, third = (
    (brightness * colour).astype(np.float32)[:, :, None, None] for colour in (first, second, third)
  )
  # How far the second field pulls towards the third colour.
  pull = rng.uniform(0.0, 0.7, (n, 1, 1, 1)).astype(np.float32)
  image = first + fields[:, :1] * (second - first)
  image += (pull * fields[:, 1:]) * (third - image)
  # Film-like grain of a random strength (a standard deviation of 0 to 12
  # levels), per pixel and channel, so that textures are not perfectly
  # smooth either. Uniform noise, from random bytes: Gaussian noise looks no
  # different at this size and takes 10x longer to draw.
  grain = rng.uniform(0.0, 12.0 * np.sqrt(12.0) / 256.0, (n, 1, 1, 1)).astype(np.float32)
  noise = np.frombuffer(rng.bytes(image.size), np.uint8).reshape(image.shape).astype(np.float32)
  noise -= 127.5
  noise *= grain
  image += noise
  return np.clip(image, 0.0, 255.0, out=image)


def textures(seed: int | np.random.Generator, count: int, size: int = SIZE) -> np.ndarray:
  """Generates coloured, varied textures, the backgrounds of domain B.

  Each is two random fields (mixes of two sinusoid gratings of random
  frequency, orientation and phase-warping, and smoothed noise at two
  scales), passed through a random contrast curve and mapped onto three
  random colours, scaled by a random brightness, with random grain.

  Args:
    seed: an int seed, from which the result is fully determined, or a
      generator, from which one such seed is drawn.
    count: how many textures.
    size: their height and width.

  Returns:
    uint8 (count, size, size, 3). `textures(s, k)` equals the first k of
    `textures(s, n)` for any n >= k.
  """
  if isinstance(seed, np.random.Generator):
    seed = int(seed.integers(2**63))
  out = np.empty((count, size, size, 3), np.uint8)
  for index, start in enumerate(range(0, count, _CHUNK)):
    # Always a whole chunk's draw, so that a texture does not depend on the
    # count asked for; the surplus of the last chunk is dropped.
    rng = np.random.default_rng([seed, index])
    stop = min(start + _CHUNK, count)
    chunk = _texture_chunk(rng, _CHUNK, size)[: stop - start]
    out[start:stop] = np.rint(chunk).transpose(0, 2, 3, 1)
  return out


def build_split(
  split: str, digits: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
  """Builds one split from the MNIST split that `DIGITS[split]` names.

  Args:
    split: one of `SPLITS`.
    digits: uint8 (M, 28, 28, 1), all of MNIST's `DIGITS[split].split`.
    labels: int (M,), their labels.

  Returns:
    `(images, labels)`: uint8 (SIZES[split], *image_shape(split)) and int32
    (SIZES[split],), both read-only.

  Raises:
    ValueError: for an unknown split.
  """
  check_split(split)
  start, stop = DIGITS[split].start, DIGITS[split].stop
  digits = digits[start:stop]
  if split in TEXTURED_SPLITS:
    images = blend(digits, textures(TEXTURE_SEEDS[split], stop - start))
  else:
    images = pad_digits(digits)
  labels = np.array(labels[start:stop], dtype=np.int32)
  images.flags.writeable = False
  labels.flags.writeable = False
  return images, labels
