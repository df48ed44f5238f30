"""The 2-D Gaussian mixtures of the mode-collapse benchmark (VEEGAN; PacGAN).

`ring2d` is 8 Gaussians evenly spaced on the unit circle, `grid2d` 25 on the
grid {-4, -2, 0, 2, 4}^2; both have equal weights and isotropic components.
The training sets are fixed draws of `NUM_POINTS` points, made with fixed
seeds so that every run, process and benchmark trains on the same points.
"""

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

RING2D = 'ring2d'
GRID2D = 'grid2d'
# The components' standard deviations, as in VEEGAN and PacGAN.
RING_SIGMA = 0.01
GRID_SIGMA = 0.05
# Seeds of the training draws (what benchmarks/mode_collapse_2d.py has used
# since its first results, so those results stay reproducible).
RING_SEED = 1000
GRID_SEED = 2000
# Points in each training set.
NUM_POINTS = 100_000


def ring_modes(*, num_modes: int = 8, radius: float = 1.0) -> np.ndarray:
  """Means of the 2-D ring: `num_modes` points evenly spaced on a circle."""
  angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
  return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_modes(*, values: npt.ArrayLike = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> np.ndarray:
  """Means of the 2-D grid: the product {values}^2, 25 points by default."""
  values = np.asarray(values, dtype=np.float64)
  xs, ys = np.meshgrid(values, values, indexing='ij')
  return np.stack([xs.ravel(), ys.ravel()], axis=1)


def sample_mixture(
  rng: np.random.Generator | int | None, modes: npt.ArrayLike, sigma: float, num_samples: int
) -> np.ndarray:
  """Samples of the equal-weight isotropic Gaussian mixture on `modes`.

  Args:
    rng: a generator or a seed for `np.random.default_rng`.
    modes: mixture means, shape (num_modes, dim), e.g. `ring_modes()`.
    sigma: the components' standard deviation.
    num_samples: how many points to draw.

  Returns:
    float64 (num_samples, dim): a mode drawn uniformly for each point, then
    Gaussian noise added.

  Raises:
    ValueError: if `modes` is not a matrix.
  """
  rng = np.random.default_rng(rng)
  modes = np.asarray(modes, dtype=np.float64)
  if modes.ndim != 2:
    raise ValueError(f'modes must have shape (num_modes, dim), got {modes.shape}.')
  idx = rng.integers(modes.shape[0], size=num_samples)
  return modes[idx] + sigma * rng.standard_normal((num_samples, modes.shape[1]))


class Mixture(NamedTuple):
  """One of the benchmark's mixtures and its fixed training draw.

  Attributes:
    name: the source name, `RING2D` or `GRID2D`.
    modes: float64 (num_modes, 2), the component means.
    sigma: the components' standard deviation.
    seed: the seed of the training draw.
  """

  name: str
  modes: np.ndarray
  sigma: float
  seed: int


MIXTURES = {
  RING2D: Mixture(RING2D, ring_modes(), RING_SIGMA, RING_SEED),
  GRID2D: Mixture(GRID2D, grid_modes(), GRID_SIGMA, GRID_SEED),
}


def training_points(name: str) -> np.ndarray:
  """The fixed training set of `ring2d` or `grid2d`.

  Args:
    name: `RING2D` or `GRID2D`.

  Returns:
    float32 (NUM_POINTS, 2): `sample_mixture(seed, modes, sigma,
    NUM_POINTS)` in float32, exactly the benchmark's draw.

  Raises:
    KeyError: for another name.
  """
  mixture = MIXTURES[name]
  return sample_mixture(mixture.seed, mixture.modes, mixture.sigma, NUM_POINTS).astype(np.float32)
