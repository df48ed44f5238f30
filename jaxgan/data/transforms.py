"""Per-example image transforms: pure functions of uint8 (H, W, C) arrays.

`apply` runs them in a fixed order: channels, resize, crop, pad, flip. The random
ones (random crop, flip) draw from `example_rng(seed, epoch, index)`, so what
happens to an example depends only on the run's seed, the epoch and the
example's index in the dataset: not on the batch it lands in, the process
that reads it, the number of worker processes, or whether the run was
interrupted and resumed.
"""

import dataclasses

import numpy as np
from PIL import Image

# PIL's bicubic filter, which is antialiased: when it shrinks an image its
# support widens by the scale factor, so every source pixel is weighted in
# (unlike TF's or OpenCV's default resizes, which alias when shrinking). It is
# the resize that clean-fid (Parmar et al. 2022) found to match a correct
# low-pass filter, and it is sharper than PIL's bilinear (a triangle filter),
# which matters at 64x64 where a GAN sees every pixel.
RESIZE_FILTER = Image.Resampling.BICUBIC
# The last word of each example's seed: the permutation of an epoch is
# seeded by the entropy [seed, epoch], and `SeedSequence` pads entropy with
# zeros, so a final non-zero word keeps [seed, epoch, index, 1] from ever
# equalling [seed, epoch].
_EXAMPLE_STREAM = 1


@dataclasses.dataclass(frozen=True)
class Transforms:
  """What to do to each image, from the config fields of the same names.

  Attributes:
    resize: scale so that the shorter side has this many pixels (0: keep).
    center_crop: crop the central `center_crop` x `center_crop` square (0: no).
    random_crop: crop a `random_crop` x `random_crop` square at a random
      place (0: no). Not together with `center_crop`.
    pad: zero-pad (black) to a centred `pad` x `pad` square (0: no), as
      MNIST's 28x28 digits become the 32x32 a power-of-2 network needs.
    flip: mirror left-right with probability 1/2.
    channels: 1 (grayscale), 3 (RGB) or 0 (keep the dataset's own; RGB for a
      folder of images).
  """

  resize: int = 0
  center_crop: int = 0
  random_crop: int = 0
  pad: int = 0
  flip: bool = False
  channels: int = 0

  @property
  def crop(self) -> int:
    """The side of the square crop, 0 for none."""
    return self.center_crop or self.random_crop

  @property
  def is_random(self) -> bool:
    """Whether an example's result depends on its random draws."""
    return bool(self.random_crop or self.flip)

  @property
  def is_identity(self) -> bool:
    return self == Transforms()

  def check(self, config_field: str = 'config.data') -> None:
    """Raises ValueError for settings that no image could satisfy.

    Args:
      config_field: the config path of these fields, for the messages.
    """
    for name in ('resize', 'center_crop', 'random_crop', 'pad'):
      value = getattr(self, name)
      if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(
          f'{config_field}.{name}={value!r} must be a non-negative integer (0 turns it off).'
        )
    if self.center_crop and self.random_crop:
      raise ValueError(
        f'{config_field}.center_crop={self.center_crop} and '
        f'{config_field}.random_crop={self.random_crop} are both set; set one of them to 0.'
      )
    if self.channels not in (0, 1, 3):
      raise ValueError(
        f'{config_field}.channels={self.channels!r} must be 1 (grayscale), 3 (RGB) '
        "or 0 (the dataset's own)."
      )
    if not isinstance(self.flip, (bool, np.bool_)):
      raise ValueError(f'{config_field}.flip={self.flip!r} must be True or False.')

  def output_shape(
    self,
    shape: tuple[int | None, int | None, int],
    *,
    where: str,
    config_field: str = 'config.data',
  ) -> tuple[int, int, int]:
    """The shape of an image of `shape` after these transforms.

    Args:
      shape: (height, width, channels) of the dataset's images, None for a
        side that varies from image to image.
      where: the dataset, for the messages (e.g. "config.data.source='x'").
      config_field: the config path of these fields, for the messages.

    Returns:
      (height, width, channels).

    Raises:
      ValueError: if the crop is larger than the (resized) images, the pad
        smaller than the (cropped) images, or the size varies and no crop
        makes it fixed.
    """
    self.check(config_field)
    height, width, channels = self._unpadded_shape(shape, where, config_field)
    if self.pad:
      if self.pad < max(height, width):
        raise ValueError(
          f'{config_field}.pad={self.pad} is smaller than the {height}x{width} images of '
          f'{where} it would pad; set it to at least {max(height, width)}, or to 0.'
        )
      return self.pad, self.pad, channels
    return height, width, channels

  def _unpadded_shape(
    self, shape: tuple[int | None, int | None, int], where: str, config_field: str
  ) -> tuple[int, int, int]:
    """`output_shape` before the pad."""
    height, width, channels = shape
    channels = self.channels or channels
    if self.resize and height is not None and width is not None:
      height, width = resized_size(height, width, self.resize)
    if self.crop:
      field = 'center_crop' if self.center_crop else 'random_crop'
      if height is not None and width is not None and self.crop > min(height, width):
        resized = f' after {config_field}.resize={self.resize}' if self.resize else ''
        raise ValueError(
          f'{config_field}.{field}={self.crop} is larger than the {height}x{width} '
          f'images of {where}{resized}; set it to at most {min(height, width)}, or '
          f'raise {config_field}.resize.'
        )
      return self.crop, self.crop, channels
    if height is None or width is None:
      raise ValueError(
        f'{where} has images of different sizes; set {config_field}.center_crop '
        f'(or random_crop) to the side of the square images to train on, e.g. '
        f'{config_field}.resize=64 and {config_field}.center_crop=64.'
      )
    return height, width, channels


def example_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
  """The random draws of example `index` in epoch `epoch` of a run seeded `seed`."""
  return np.random.default_rng([seed, epoch, index, _EXAMPLE_STREAM])


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
  """Converts to 1 channel (PIL's 'L': L = (299 R + 587 G + 114 B) / 1000) or 3 (RGB).

  Args:
    image: uint8 (H, W, C) with C = 1, 3 or 4 (RGBA: the alpha is dropped).
    channels: 1, 3, or 0 to keep `image` as it is.

  Returns:
    uint8 (H, W, channels).
  """
  have = image.shape[-1]
  if channels in (0, have):
    return image
  if have == 1:  # Gray to RGB: the gray value in every channel.
    return np.repeat(image, 3, axis=-1)
  mode = {3: 'RGB', 4: 'RGBA'}[have]
  converted = Image.fromarray(image, mode).convert('L' if channels == 1 else 'RGB')
  out = np.asarray(converted)
  return out[..., None] if channels == 1 else out


def resized_size(height: int, width: int, size: int) -> tuple[int, int]:
  """(height, width) scaled so that the shorter side is `size`, rounded half up."""
  short, long = min(height, width), max(height, width)
  long = max(size, int(np.floor(long * size / short + 0.5)))
  return (size, long) if height <= width else (long, size)


def resize_shorter_side(image: np.ndarray, size: int) -> np.ndarray:
  """Resizes (PIL, antialiased bicubic) so that the shorter side is `size` pixels.

  The aspect ratio is kept, the longer side rounded to the nearest pixel. An
  image whose shorter side is already `size` comes back unchanged.

  Args:
    image: uint8 (H, W, C), C = 1 or 3.
    size: the shorter side after resizing.

  Returns:
    uint8 (H', W', C) with min(H', W') = size.
  """
  height, width, channels = image.shape
  new_height, new_width = resized_size(height, width, size)
  if (new_height, new_width) == (height, width):
    return image
  pil = Image.fromarray(image[..., 0] if channels == 1 else image)
  # reducing_gap=None: the exact filter, not PIL's faster two-step shrink.
  out = np.asarray(pil.resize((new_width, new_height), RESIZE_FILTER, reducing_gap=None))
  return out[..., None] if channels == 1 else out


def _check_fits(image: np.ndarray, size: int) -> None:
  height, width = image.shape[:2]
  if size > min(height, width):
    raise ValueError(f'A {size}x{size} crop does not fit in a {height}x{width} image.')


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
  """The central `size` x `size` square (when the margin is odd, one pixel more on the bottom/right).

  Raises:
    ValueError: if the image is smaller than `size` on a side.
  """
  _check_fits(image, size)
  top = (image.shape[0] - size) // 2
  left = (image.shape[1] - size) // 2
  return image[top : top + size, left : left + size]


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
  """A `size` x `size` square at a uniformly random place (top, then left, from `rng`).

  Raises:
    ValueError: if the image is smaller than `size` on a side.
  """
  _check_fits(image, size)
  top = int(rng.integers(image.shape[0] - size + 1))
  left = int(rng.integers(image.shape[1] - size + 1))
  return image[top : top + size, left : left + size]


def pad_to(image: np.ndarray, size: int) -> np.ndarray:
  """Zero-pads (black) to a `size` x `size` square around the image.

  An odd margin puts the extra pixel on the bottom/right, where
  `center_crop(pad_to(image, size), side)` takes it back off: the two undo
  each other.

  Raises:
    ValueError: if the image is larger than `size` on a side.
  """
  height, width = image.shape[:2]
  if size < max(height, width):
    raise ValueError(f'A {height}x{width} image does not fit in a {size}x{size} pad.')
  top, left = (size - height) // 2, (size - width) // 2
  return np.pad(image, ((top, size - height - top), (left, size - width - left), (0, 0)))


def random_flip(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """Mirrors left-right if `rng.random() < 0.5`."""
  return image[:, ::-1] if rng.random() < 0.5 else image


def apply(image: np.ndarray, transforms: Transforms, rng: np.random.Generator | None) -> np.ndarray:
  """Runs `transforms` on one image: channels, resize, crop, pad, flip.

  Args:
    image: uint8 (H, W, C).
    transforms: what to do.
    rng: the example's `example_rng`; only read if `transforms.is_random`.

  Returns:
    uint8 (H', W', C'), C-contiguous.

  Raises:
    ValueError: if a crop does not fit the image, or the image the pad.
  """
  # The flip's coin is drawn first whenever anything is random, so an
  # example's crop is the same with or without `flip`, and its flip the
  # same with or without `random_crop`.
  coin = rng.random() if transforms.is_random else 1.0
  flip = transforms.flip and coin < 0.5
  image = to_channels(image, transforms.channels)
  if transforms.resize:
    image = resize_shorter_side(image, transforms.resize)
  if transforms.center_crop:
    image = center_crop(image, transforms.center_crop)
  elif transforms.random_crop:
    image = random_crop(image, transforms.random_crop, rng)
  if transforms.pad:
    image = pad_to(image, transforms.pad)
  if flip:
    image = image[:, ::-1]
  return np.ascontiguousarray(image)


def to_float(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1]: `images / 127.5 - 1`.

  The formula the training step applies on the device to the uint8 batches
  of `BatchIterator`, for host-side users of whole splits.
  """
  return images.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0)
