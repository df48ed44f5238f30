"""Tests for jaxgan.nn.initializers: flat draws give jax.random's numbers."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.nn import initializers


@pytest.mark.parametrize('shape', [(), (5,), (3, 7), (2, 3, 4), (3, 3, 8, 16)])
def test_normal_is_jax_random_normal(shape):
  key = jax.random.key(3)
  np.testing.assert_array_equal(initializers.normal(key, shape), jax.random.normal(key, shape))


def test_normal_init_is_flax_normal_in_its_dtype():
  key = jax.random.key(4)
  for shape, dtype in (((4, 4, 3, 8), jnp.float32), ((6,), jnp.bfloat16)):
    ours = initializers.normal_init(0.02)(key, shape, dtype)
    flax_init = nn.initializers.normal(0.02)(key, shape, dtype)
    assert ours.dtype == flax_init.dtype == dtype
    np.testing.assert_array_equal(ours, flax_init)
  # Not every key draws the same numbers.
  other = initializers.normal_init(0.02)(jax.random.key(5), (6,))
  assert not np.allclose(other, initializers.normal_init(0.02)(key, (6,)))


def test_a_4d_draw_compiles_as_one_flat_vector():
  # What the module is for: the flat draw is what XLA compiles, whatever
  # the shape (the 4-D iota that the shaped draw numbers with is gone).
  hlo = jax.jit(lambda k: initializers.normal(k, (4, 4, 8, 16))).lower(jax.random.key(0))
  shaped = jax.jit(lambda k: jax.random.normal(k, (4, 4, 8, 16))).lower(jax.random.key(0))
  assert 'tensor<4x4x8x16xui32>' in shaped.as_text()
  assert 'tensor<4x4x8x16xui32>' not in hlo.as_text()
