"""Sample grids: images in [-1, 1] tiled into one picture, saved as PNG (or frames as a GIF)."""

import io
import math

from etils import epath
import numpy as np
from PIL import Image

from jaxgan.train import workdir


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Maps images from [-1, 1] to uint8 [0, 255], clipping what lies outside."""
  images = (np.asarray(images, np.float32) + 1.0) * 127.5
  return np.clip(np.round(images), 0, 255).astype(np.uint8)


def make_grid(images: np.ndarray, *, columns: int | None = None, padding: int = 2) -> np.ndarray:
  """Tiles a batch of images into one image, row by row.

  Args:
    images: (N, H, W, C) in [-1, 1].
    columns: images per row; defaults to ceil(sqrt(N)).
    padding: pixels of black between and around the images.

  Returns:
    (rows * (H + padding) + padding, columns * (W + padding) + padding, C)
    uint8.
  """
  if images.ndim != 4:
    raise ValueError(f'make_grid takes (N, H, W, C) images, got shape {images.shape}.')
  count, height, width, channels = images.shape
  columns = columns or math.ceil(math.sqrt(count))
  rows = math.ceil(count / columns)
  grid = np.zeros(
    (rows * (height + padding) + padding, columns * (width + padding) + padding, channels), np.uint8
  )
  for index, image in enumerate(to_uint8(images)):
    top = padding + (index // columns) * (height + padding)
    left = padding + (index % columns) * (width + padding)
    grid[top : top + height, left : left + width] = image
  return grid


def png_bytes(picture: np.ndarray) -> bytes:
  """A uint8 (H, W, C) image with C in {1, 3}, encoded as PNG."""
  buffer = io.BytesIO()
  Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture).save(buffer, 'PNG')
  return buffer.getvalue()


def save_png(path: epath.PathLike, picture: np.ndarray) -> None:
  """Writes a uint8 (H, W, C) image with C in {1, 3} as PNG, whole (local or e.g. gs://)."""
  workdir.write_bytes(epath.Path(path), png_bytes(picture))


def gif_bytes(frames: list[np.ndarray], *, fps: float) -> bytes:
  """uint8 (H, W, C) pictures with C in {1, 3}, encoded as a GIF that loops forever."""
  pictures = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
  buffer = io.BytesIO()
  pictures[0].save(
    buffer,
    'GIF',
    save_all=True,
    append_images=pictures[1:],
    duration=round(1000 / fps),
    loop=0,
  )
  return buffer.getvalue()


def save_gif(path: epath.PathLike, frames: list[np.ndarray], *, fps: float) -> None:
  """Writes uint8 (H, W, C) pictures as an animated GIF, whole (local or e.g. gs://)."""
  workdir.write_bytes(epath.Path(path), gif_bytes(frames, fps=fps))
