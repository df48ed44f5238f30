"""Tests of the vanilla GAN's MLPs."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import mlp


def count(params):
  return sum(x.size for x in jax.tree.leaves(params))


def test_generator_shape_range_and_size():
  generator = mlp.MLPGenerator(image_shape=(28, 28, 1))
  z = jax.random.normal(jax.random.key(0), (5, 100))
  variables = generator.init(jax.random.key(1), z, train=False)
  images = generator.apply(variables, z, train=False)
  chex.assert_shape(images, (5, 28, 28, 1))
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  # Dense layers 100-128-256-512-1024-784, BatchNorm (scale, bias) on the
  # last three hidden layers.
  dense = (
    (100 * 128 + 128)
    + (128 * 256 + 256)
    + (256 * 512 + 512)
    + (512 * 1024 + 1024)
    + (1024 * 784 + 784)
  )
  assert count(variables['params']) == dense + 2 * (256 + 512 + 1024)
  assert count(variables['batch_stats']) == 2 * (256 + 512 + 1024)


def test_discriminator_shape_and_size():
  discriminator = mlp.MLPDiscriminator()
  images = jnp.zeros((3, 28, 28, 1))
  params = discriminator.init(jax.random.key(0), images, train=False)['params']
  logits = discriminator.apply({'params': params}, images, train=False)
  chex.assert_shape(logits, (3,))
  assert count(params) == (784 * 512 + 512) + (512 * 256 + 256) + (256 + 1)


def test_generator_train_mode_normalises_over_the_batch():
  generator = mlp.MLPGenerator(image_shape=(4, 4, 1), hidden_features=(8, 16))
  z = jax.random.normal(jax.random.key(0), (32, 100)) * 5.0 + 3.0
  variables = generator.init(jax.random.key(1), z, train=False)
  _, updates = generator.apply(variables, z, train=True, mutable=['batch_stats'])
  # One update moves the running mean 10% of the way to the batch mean.
  mean = updates['batch_stats']['batch_norm_1']['mean']
  assert float(jnp.max(jnp.abs(mean))) > 0
  np.testing.assert_array_equal(variables['batch_stats']['batch_norm_1']['mean'], np.zeros(16))
