"""Tests of the classic GAN's state pytree, and of `GAN.init` that makes it."""

import chex
import jax
import jax.numpy as jnp
import optax

from jaxgan.families.classic import mlp
from jaxgan.families.classic import model as model_lib
from jaxgan.families.classic import state as state_lib

OPTIMIZER = optax.adam(1e-3)


def small_networks(num_classes=0, packing=1):
  return (
    mlp.MLPGenerator(image_shape=(4, 4, 1), hidden_features=(8, 16), num_classes=num_classes),
    mlp.MLPDiscriminator(hidden_features=(8,), num_classes=num_classes, packing=packing),
  )


def make_state(seed, **options):
  generator, discriminator = small_networks()
  return state_lib.create_state(
    jax.random.key(seed),
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=OPTIMIZER,
    discriminator_optimizer=OPTIMIZER,
    latent_dim=3,
    **options,
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


def test_moving_average_starts_at_gs_parameters_and_is_what_samples_use():
  state = make_state(0, ema=True)
  chex.assert_trees_all_equal(state.generator_ema_params, state.generator_params)
  # A copy, not the same arrays: the step updates the two apart.
  leaf = jax.tree.leaves(state.generator_params)[0]
  assert jax.tree.leaves(state.generator_ema_params)[0] is not leaf
  moved = state.replace(
    generator_ema_params=jax.tree.map(lambda p: p + 1.0, state.generator_params)
  )
  variables = state_lib.sampling_variables(moved)
  chex.assert_trees_all_equal(variables['params'], moved.generator_ema_params)
  assert variables['batch_stats'] is moved.generator_batch_stats
  # Without a moving average, G as trained.
  plain = make_state(0)
  chex.assert_trees_all_equal(state_lib.sampling_variables(plain)['params'], plain.generator_params)


def test_conditional_and_packed_discriminators_are_initialised_for_their_inputs():
  generator, discriminator = small_networks(num_classes=5)
  state = state_lib.create_state(
    jax.random.key(0),
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=OPTIMIZER,
    discriminator_optimizer=OPTIMIZER,
    latent_dim=3,
    num_classes=5,
  )
  chex.assert_shape(state.generator_params['label_embedding']['embedding'], (5, 50))
  chex.assert_shape(state.discriminator_params['label_embedding']['embedding'], (5, 50))
  # PacGAN: D's first layer takes 3 flattened 4x4 images at once.
  generator, discriminator = small_networks(packing=3)
  state = state_lib.create_state(
    jax.random.key(0),
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=OPTIMIZER,
    discriminator_optimizer=OPTIMIZER,
    latent_dim=3,
    packing=3,
  )
  chex.assert_shape(state.discriminator_params['dense_0']['kernel'], (3 * 16, 8))


def test_gan_init_is_create_state_with_the_gans_options():
  generator, discriminator = small_networks(packing=2)
  gan = model_lib.GAN(
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=OPTIMIZER,
    discriminator_optimizer=optax.sgd(0.1),
    latent_dim=3,
    ema_decay=0.99,
    packing=2,
  )
  state = gan.init(jax.random.key(7))
  expected = state_lib.create_state(
    jax.random.key(7),
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=OPTIMIZER,
    discriminator_optimizer=optax.sgd(0.1),
    latent_dim=3,
    packing=2,
    ema=True,
  )
  assert isinstance(state, state_lib.GANState)
  chex.assert_trees_all_equal(
    state.replace(key=jax.random.key_data(state.key)),
    expected.replace(key=jax.random.key_data(expected.key)),
  )
  assert state.generator_ema_params != {}  # ema_decay > 0 keeps a moving average.
  chex.assert_shape(state.discriminator_params['dense_0']['kernel'], (2 * 16, 8))
  # D's optimizer state is its own (SGD keeps none), not G's.
  chex.assert_trees_all_equal_structs(
    state.discriminator_opt_state, optax.sgd(0.1).init(state.discriminator_params)
  )
