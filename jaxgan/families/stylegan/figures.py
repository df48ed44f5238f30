"""StyleGAN's two figures: style mixing (the paper's Figure 3) and a truncation sweep (Figure 8).

Each is drawn through the model's own `sample` (so from G's moving
average, with the run's truncation cutoff), given a `draw` that maps sample
inputs to images in [-1, 1]: `sample.py --mode=mixing|truncation` passes
the run's jitted sampler.
"""

import math
from collections.abc import Callable

import jax
import numpy as np

from jaxgan.families.stylegan import networks

Draw = Callable[[dict[str, np.ndarray]], np.ndarray]

# The paper's Figure 3 copies these styles from source B: coarse (4x4 and
# 8x8), middle (16x16 and 32x32), fine (64x64 up), in 3, 2 and 1 rows.
MIXING_ROWS = (('coarse', 3), ('middle', 2), ('fine', 1))
MIXING_COLUMNS = 5
# The paper's Figure 8 (psi = 1 is no truncation, 0 the average w's image,
# below 0 its mirror image).
TRUNCATION_PSIS = (1.0, 0.7, 0.5, 0.0, -0.5, -1.0)

_SOURCE_STREAM, _DESTINATION_STREAM, _NOISE_STREAM = 1, 2, 3


def style_groups(resolution: int) -> dict[str, range]:
  """The ws that set coarse, middle and fine styles at a resolution.

  The paper's split (coarse up to 8x8, middle up to 32x32, fine above),
  with its bounds lowered for small images so that every group is one
  resolution at least where there are three (at 32x32: 4 and 8, 16, 32).
  A group that would be empty (below 16x16) is left out.
  """
  middle_top = min(32, resolution // 2)
  coarse_top = min(8, middle_top // 2)
  # The ws of resolution r are 2 (log2 r - 2) and the next one.
  end = lambda top: 2 * (int(math.log2(top)) - 1) if top >= 4 else 0
  groups = {
    'coarse': range(end(coarse_top)),
    'middle': range(end(coarse_top), end(middle_top)),
    'fine': range(end(middle_top), networks.num_ws(resolution)),
  }
  return {name: layers for name, layers in groups.items() if len(layers)}


def _latents(seed: int, stream: int, count: int, z_dim: int) -> np.ndarray:
  key = jax.random.fold_in(jax.random.key(seed), stream)
  return np.asarray(jax.random.normal(key, (count, z_dim)), np.float32)


def _noise(seed: int, count: int) -> np.ndarray:
  key = jax.random.fold_in(jax.random.key(seed), _NOISE_STREAM)
  return networks.noise_key_data(key, 0, count)


def style_mixing(model, draw: Draw, seed: int, *, columns: int = MIXING_COLUMNS) -> np.ndarray:
  """The style mixing figure: a grid of images in [-1, 1], laid out `columns + 1` to a row.

  The top row holds the sources B (one per column), the left column the
  destinations A (one per row). Each other image is A's styles with one
  group's (`style_groups`) taken from B: coarse styles in the first rows,
  middle, then fine, as many rows of each as `MIXING_ROWS` says. Each image
  keeps A's noise (B's in the top row), so only the styles differ.
  """
  groups = style_groups(model.synthesis.resolution)
  row_layers = [groups[name] for name, count in MIXING_ROWS if name in groups for _ in range(count)]
  rows, num_ws, z_dim = len(row_layers), model.num_ws, model.mapping.z_dim
  sources = _latents(seed, _SOURCE_STREAM, columns, z_dim)
  destinations = _latents(seed, _DESTINATION_STREAM, rows, z_dim)
  noise = _noise(seed, columns + rows)
  mixed = np.zeros((rows, columns, num_ws), bool)
  for row, layers in enumerate(row_layers):
    mixed[row, :, list(layers)] = True
  # Sources, destinations, then every mix row by row, in one batch.
  z = np.concatenate([sources, destinations, np.repeat(destinations, columns, axis=0)])
  inputs = {
    'z': z,
    'mix_z': np.concatenate([sources, destinations, np.tile(sources, (rows, 1))]),
    'mix_layers': np.concatenate(
      [np.zeros((columns + rows, num_ws), bool), mixed.reshape(-1, num_ws)]
    ),
    'noise_keys': np.concatenate([noise, np.repeat(noise[columns:], columns, axis=0)]),
  }
  images = np.asarray(draw(inputs))
  blank = -np.ones_like(images[:1])
  source_images, destination_images, mixes = np.split(images, [columns, columns + rows])
  cells = [blank, source_images]
  for row in range(rows):
    cells += [destination_images[row : row + 1], mixes[row * columns : (row + 1) * columns]]
  return np.concatenate(cells)


def truncation_sweep(
  model, draw: Draw, seed: int, *, rows: int = 4, psis: tuple[float, ...] = TRUNCATION_PSIS
) -> np.ndarray:
  """The truncation figure: `rows` seeds down, one psi per column, images in [-1, 1], row by row.

  Each row keeps its z and noise; only psi moves it toward w_avg (psi = 0
  gives the average w's image in every row) and past it (psi < 0).
  """
  z = _latents(seed, _DESTINATION_STREAM, rows, model.mapping.z_dim)
  noise = _noise(seed, rows)
  inputs = {
    'z': np.repeat(z, len(psis), axis=0),
    'psi': np.tile(np.asarray(psis, np.float32), rows),
    'noise_keys': np.repeat(noise, len(psis), axis=0),
  }
  return np.asarray(draw(inputs))
