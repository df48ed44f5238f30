"""What a classic GAN's samples are drawn from: fixed noise, and labels in a grid."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import families
from jaxgan.families import latent_walks

# Folded into the run's seed for the noise of its sample grids, apart from
# the noise of training (folded from the step number) and of evaluations.
_GRID_STREAM = 0x5A4D
# Samples per call of G when drawing an evaluation set.
EVALUATION_BATCH = 1000


def fixed_latents(seed: int, count: int, latent_dim: int) -> jax.Array:
  """The z that every sample grid of a run is drawn from, so grids compare."""
  key = jax.random.fold_in(jax.random.key(seed), _GRID_STREAM)
  return jax.random.normal(key, (count, latent_dim))


def grid_inputs(
  seed: int, count: int, latent_dim: int, num_classes: int = 0, label: int | None = None
) -> families.SampleInputs:
  """The fixed inputs of a run's sample grids.

  Unconditional: `count` fixed z. Conditional: one row per class (the first
  `count` classes if there are more), the same z down each column, so a
  column shows one style in every class; or, with `label`, `count` samples
  of that one class.

  Raises:
    ValueError: for a `label` of an unconditional GAN, or out of range.
  """
  if not num_classes:
    if label is not None:
      raise ValueError(
        f'This run holds an unconditional GAN: it cannot draw class {label}. Leave out --label.'
      )
    return families.SampleInputs({'z': fixed_latents(seed, count, latent_dim)})
  if label is not None:
    if not 0 <= label < num_classes:
      raise ValueError(
        f'--label={label} is not a class of this run; choose one of 0 to {num_classes - 1}.'
      )
    return families.SampleInputs(
      {
        'z': fixed_latents(seed, count, latent_dim),
        'labels': jnp.full((count,), label, jnp.int32),
      }
    )
  rows = min(num_classes, count)
  columns = count // rows
  latents = jnp.tile(fixed_latents(seed, columns, latent_dim), (rows, 1))
  labels = jnp.repeat(jnp.arange(rows, dtype=jnp.int32), columns)
  return families.SampleInputs({'z': latents, 'labels': labels}, columns)


def interpolation_inputs(
  seed: int,
  walks: int,
  num_keyframes: int,
  frames_per_keyframe: int,
  latent_dim: int,
  num_classes: int = 0,
) -> families.SampleInputs:
  """Looping walks through z, spherically interpolated (`latent_walks.walk`), walk by walk.

  Unconditional: `walks` walks from their own keyframes. Conditional: one
  walk per class along the same z path, so each frame shows one style in
  every class.
  """
  if num_classes:
    z = latent_walks.walk(seed, 1, num_keyframes, frames_per_keyframe, latent_dim)
    frames = len(z)
    labels = np.repeat(np.arange(num_classes, dtype=np.int32), frames)
    return families.SampleInputs({'z': np.tile(z, (num_classes, 1)), 'labels': labels}, frames)
  z = latent_walks.walk(seed, walks, num_keyframes, frames_per_keyframe, latent_dim)
  return families.SampleInputs({'z': z}, num_keyframes * frames_per_keyframe)


def balanced_labels(count: int, num_classes: int) -> np.ndarray:
  """Labels 0, 1, ..., num_classes - 1, 0, 1, ...: every class as often as can be."""
  return (np.arange(count) % num_classes).astype(np.int32)


def evaluation_inputs(
  seed: int, count: int, latent_dim: int, num_classes: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
  """The z (and classes) of an evaluation set of `count` samples.

  z comes in blocks of `EVALUATION_BATCH`, block i from the seed's key
  folded with i, so a larger set extends a smaller one. A conditional G is
  asked for every class in turn.

  Returns:
    ({'z': float32 (count, latent_dim)[, 'labels': int32 (count,)]}, the
    labels or None).
  """
  key = jax.random.key(seed)
  blocks = []
  for index, start in enumerate(range(0, count, EVALUATION_BATCH)):
    size = min(EVALUATION_BATCH, count - start)
    blocks.append(np.asarray(jax.random.normal(jax.random.fold_in(key, index), (size, latent_dim))))
  inputs = {'z': np.concatenate(blocks)}
  labels = None
  if num_classes:
    labels = balanced_labels(count, num_classes)
    inputs['labels'] = labels
  return inputs, labels
