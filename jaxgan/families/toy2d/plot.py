"""Scatter plots of 2-D points, the toy family's sample grids."""

import numpy as np

_BACKGROUND = (255, 255, 255)
_AXES = (225, 225, 225)
_REAL = (150, 150, 150)
_GENERATED = (220, 30, 30)
_MODES = (30, 60, 220)


def scatter_image(
  generated: np.ndarray,
  *,
  extent: float,
  real: np.ndarray | None = None,
  modes: np.ndarray | None = None,
  size: int = 600,
) -> np.ndarray:
  """An RGB image of real (grey) and generated (red) points, modes in blue.

  Args:
    generated: (N, 2) points.
    extent: half the side of the square shown, centred at 0.
    real: (M, 2) points of the data, or None.
    modes: (K, 2) mode centres, or None.
    size: the image's side in pixels.

  Returns:
    uint8 array of shape (size, size, 3); y points up.
  """
  image = np.full((size, size, 3), _BACKGROUND, np.uint8)

  def to_pixels(xy):
    scale = (size - 1) / (2.0 * extent)
    cols = np.round((xy[:, 0] + extent) * scale).astype(int)
    rows = np.round((extent - xy[:, 1]) * scale).astype(int)
    inside = (cols >= 0) & (cols < size) & (rows >= 0) & (rows < size)
    return rows[inside], cols[inside]

  def draw(xy, colour, radius):
    rows, cols = to_pixels(np.asarray(xy, np.float64).reshape(-1, 2))
    for dr in range(-radius, radius + 1):
      for dc in range(-radius, radius + 1):
        image[np.clip(rows + dr, 0, size - 1), np.clip(cols + dc, 0, size - 1)] = colour

  # Axes through the origin, for scale.
  centre = (size - 1) // 2
  image[centre, :] = image[:, centre] = _AXES
  if real is not None:
    draw(real, _REAL, 1)
  draw(generated, _GENERATED, 1)
  if modes is not None:
    draw(modes, _MODES, 0)
  return image
