"""Tests for jaxgan.data.mixtures, the 2-D Gaussian mixtures."""

import numpy as np
import pytest

from jaxgan.data import mixtures


def test_modes():
  np.testing.assert_allclose(mixtures.ring_modes()[[0, 2]], [[1.0, 0.0], [0.0, 1.0]], atol=1e-15)
  np.testing.assert_allclose(
    mixtures.ring_modes(num_modes=4, radius=2.0)[3], [0.0, -2.0], atol=1e-15
  )
  grid = mixtures.grid_modes()
  assert grid.shape == (25, 2)
  np.testing.assert_array_equal(grid[[0, 1, 24]], [[-4, -4], [-4, -2], [4, 4]])


def test_sample_mixture_draws_a_mode_then_noise():
  modes = np.array([[0.0, 0.0], [10.0, 0.0]])
  samples = mixtures.sample_mixture(3, modes, 0.5, 20_000)
  rng = np.random.default_rng(3)
  chosen = rng.integers(2, size=20_000)
  np.testing.assert_array_equal(samples, modes[chosen] + 0.5 * rng.standard_normal((20_000, 2)))
  noise = samples - modes[chosen]
  assert np.mean(chosen) == pytest.approx(0.5, abs=0.02)
  np.testing.assert_allclose(noise.std(axis=0), 0.5, rtol=0.03)
  with pytest.raises(ValueError, match='modes must have shape'):
    mixtures.sample_mixture(0, [1.0, 2.0], 0.1, 5)


@pytest.mark.parametrize(
  'name, sigma, seed, num_modes',
  [('ring2d', 0.01, 1000, 8), ('grid2d', 0.05, 2000, 25)],
)
def test_training_points_are_the_published_draws(name, sigma, seed, num_modes):
  mixture = mixtures.MIXTURES[name]
  assert (mixture.name, mixture.sigma, mixture.seed) == (name, sigma, seed)
  assert mixture.modes.shape == (num_modes, 2)
  points = mixtures.training_points(name)
  assert points.shape == (100_000, 2) and points.dtype == np.float32
  # What benchmarks/mode_collapse_2d.py has always drawn.
  expected = mixtures.sample_mixture(seed, mixture.modes, sigma, 100_000).astype(np.float32)
  np.testing.assert_array_equal(points, expected)
  # Every point within 6 sigma of a mode, every mode used about equally.
  distances = np.linalg.norm(points[:, None, :] - mixture.modes[None], axis=-1)
  assert distances.min(axis=1).max() < 6 * sigma
  counts = np.bincount(distances.argmin(axis=1), minlength=num_modes)
  np.testing.assert_allclose(counts / 100_000, 1 / num_modes, rtol=0.1)
