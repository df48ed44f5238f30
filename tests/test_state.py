"""Tests of the GAN state pytree."""

import chex
import jax
import jax.numpy as jnp
import optax

from jaxgan.families.classic import mlp
from jaxgan.families.classic import state as state_lib


def make_state(seed):
  optimizer = optax.adam(1e-3)
  return state_lib.create_state(
    jax.random.key(seed),
    generator=mlp.MLPGenerator(image_shape=(4, 4, 1), hidden_features=(8, 16)),
    discriminator=mlp.MLPDiscriminator(hidden_features=(8,)),
    generator_optimizer=optimizer,
    discriminator_optimizer=optimizer,
    latent_dim=3,
  )


def test_create_state():
  state = make_state(0)
  assert int(state.step) == 0 and state.step.dtype == jnp.int32
  assert jax.dtypes.issubdtype(state.key.dtype, jax.dtypes.prng_key)
  chex.assert_shape(state.generator_params['dense_0']['kernel'], (3, 8))
  chex.assert_shape(state.discriminator_params['dense_0']['kernel'], (16, 8))
  assert 'batch_norm_1' in state.generator_batch_stats
  assert state.discriminator_batch_stats == {}
  assert state.generator_ema_params == {}  # No moving average unless asked for.
  chex.assert_trees_all_equal_structs(
    state.generator_opt_state, optax.adam(1e-3).init(state.generator_params)
  )


def test_state_is_a_function_of_the_key():
  chex.assert_trees_all_equal(
    jax.random.key_data(make_state(0).key), jax.random.key_data(make_state(0).key)
  )
  chex.assert_trees_all_equal(make_state(0).generator_params, make_state(0).generator_params)
  first, other = make_state(0).generator_params, make_state(1).generator_params
  assert not jnp.array_equal(first['dense_0']['kernel'], other['dense_0']['kernel'])
