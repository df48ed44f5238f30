"""Tests of sample grids."""

import numpy as np
from PIL import Image

from jaxgan.train import images


def test_to_uint8_maps_the_tanh_range_onto_bytes():
  values = np.array([-1.5, -1.0, 0.0, 1.0, 2.0], np.float32)
  np.testing.assert_array_equal(images.to_uint8(values), [0, 0, 128, 255, 255])


def test_grid_places_images_row_by_row():
  batch = np.stack([np.full((2, 3, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)])
  grid = images.make_grid(batch, columns=2, padding=1)
  assert grid.shape == (1 + 2 * 3, 1 + 2 * 4, 1)
  assert np.all(grid[1:3, 1:4] == 0)  # First image, black.
  assert np.all(grid[1:3, 5:8] == 128)  # Second, to its right.
  assert np.all(grid[4:6, 1:4] == 255)  # Third, below the first.
  assert np.all(grid[4:6, 5:8] == 0)  # No fourth image: padding colour.


def test_png_round_trip(tmp_path):
  grid = images.make_grid(np.random.default_rng(0).uniform(-1, 1, (4, 5, 5, 3)))
  path = str(tmp_path / 'samples' / 'grid.png')
  images.save_png(path, grid)
  np.testing.assert_array_equal(np.asarray(Image.open(path)), grid)
