"""Data parallelism: the `data` mesh axis, and randomness keyed per example.

A family's train step is per-device code in the style of pmap: each device
holds a slice of the global batch, gradients and losses are averaged over
the `data` axis with `lax.pmean`, and BatchNorm averages its statistics over
the same axis. The training loop runs that code under `jax.shard_map` over a
one-axis mesh of every device (`make_data_mesh`).

Randomness that belongs to an example (its noise, its label, its penalty
weight) is drawn from the step's key folded with the example's index in the
global batch, never from a key split per device. A device that holds
examples [i * b, (i + 1) * b) thus draws exactly what one device holding the
whole batch would draw for them, and a run on 8 devices follows the same
trajectory as on 1, up to float summation order.
"""

from typing import Any

import jax
from jax import lax
import jax.numpy as jnp

DATA_AXIS = 'data'


def make_data_mesh(devices: Any = None) -> jax.sharding.Mesh:
  """A one-axis mesh named `data` over all devices (or the ones given)."""
  devices = jax.devices() if devices is None else list(devices)
  return jax.make_mesh((len(devices),), (DATA_AXIS,), devices=devices)


def first_example(local_batch: int) -> jax.Array:
  """Index in the global batch of this device's first example (inside shard_map)."""
  return lax.axis_index(DATA_AXIS) * local_batch


def example_keys(key: jax.Array, *, first_example: jax.Array | int, batch_size: int) -> jax.Array:
  """One key per example: `key` folded with each example's global index."""
  indices = first_example + jnp.arange(batch_size)
  return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, indices)


def example_normal(
  key: jax.Array, shape: tuple[int, ...], *, first_example: jax.Array | int, batch_size: int
) -> jax.Array:
  """Standard normal draws of `shape` for examples first_example, first_example + 1, ...

  Args:
    key: a typed PRNG key.
    shape: the shape of one example's draw, e.g. (latent_dim,).
    first_example: index in the global batch of the first example.
    batch_size: number of examples.

  Returns:
    (batch_size, *shape) float32.
  """
  keys = example_keys(key, first_example=first_example, batch_size=batch_size)
  return jax.vmap(lambda k: jax.random.normal(k, shape))(keys)


def example_uniforms(
  key: jax.Array, *, first_example: jax.Array | int, batch_size: int
) -> jax.Array:
  """U[0, 1) numbers for examples first_example, ..., keyed like `example_normal`."""
  keys = example_keys(key, first_example=first_example, batch_size=batch_size)
  return jax.vmap(lambda k: jax.random.uniform(k, ()))(keys)


def example_labels(
  key: jax.Array, *, first_example: jax.Array | int, batch_size: int, num_classes: int
) -> jax.Array:
  """Uniformly drawn class labels for examples first_example, ..., as int32."""
  uniforms = example_uniforms(key, first_example=first_example, batch_size=batch_size)
  return jnp.minimum((uniforms * num_classes).astype(jnp.int32), num_classes - 1)
