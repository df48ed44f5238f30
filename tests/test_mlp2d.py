"""Tests of the 2-D mode-collapse networks (PacGAN's ring and grid MLPs)."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import mlp2d


def count(params):
  return sum(x.size for x in jax.tree.leaves(params))


def test_generator_shape_and_size():
  generator = mlp2d.PointGenerator()
  z = jnp.zeros((5, 2))
  # eval_shape: the full-size network's shapes without computing anything.
  variables = jax.eval_shape(lambda: generator.init(jax.random.key(1), z, train=False))
  points = jax.eval_shape(lambda v: generator.apply(v, z, train=False), variables)
  chex.assert_shape(points, (5, 2))
  # Hidden Dense layers have no bias (BatchNorm shifts); the output has one.
  dense = 2 * 400 + 3 * 400 * 400 + (400 * 2 + 2)
  assert count(variables['params']) == dense + 4 * 2 * 400
  assert count(variables['batch_stats']) == 4 * 2 * 400


def test_generator_train_mode_updates_running_statistics():
  generator = mlp2d.PointGenerator(hidden_features=(8,))
  z = jax.random.normal(jax.random.key(0), (16, 2)) + 3.0
  # Jitted: one compiled program is faster than dispatching op by op.
  variables = jax.jit(functools.partial(generator.init, train=False))(jax.random.key(1), z)
  _, updates = jax.jit(functools.partial(generator.apply, train=True, mutable=['batch_stats']))(
    variables, z
  )
  kernel = variables['params']['dense_0']['kernel']
  batch_mean = np.asarray(z) @ np.asarray(kernel)
  # momentum 0.95: the running mean moves 5% of the way from 0.
  np.testing.assert_allclose(
    updates['batch_stats']['batch_norm_0']['mean'],
    0.05 * batch_mean.mean(axis=0),
    rtol=1e-4,
    atol=1e-7,
  )


def test_discriminator_shape_and_size():
  discriminator = mlp2d.MaxoutDiscriminator()
  points = jnp.zeros((3, 2))
  params = jax.eval_shape(
    lambda: discriminator.init(jax.random.key(0), points, train=False)['params']
  )
  logits = jax.eval_shape(lambda p: discriminator.apply({'params': p}, points, train=False), params)
  chex.assert_shape(logits, (3,))
  # Each maxout layer holds 200 units x 5 pieces = 1000 affine outputs.
  assert count(params) == ((2 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + (200 + 1))


def test_discriminator_flattens_packs():
  discriminator = mlp2d.MaxoutDiscriminator(hidden_features=(4,), num_pieces=2)
  packs = jnp.zeros((3, 4, 2))  # 3 packs of 4 points.
  params = jax.eval_shape(
    lambda: discriminator.init(jax.random.key(0), packs, train=False)['params']
  )
  chex.assert_shape(params['maxout_0']['dense']['kernel'], (8, 8))
  chex.assert_shape(
    jax.eval_shape(lambda p: discriminator.apply({'params': p}, packs, train=False), params), (3,)
  )


def test_linear_maxout_matches_numpy():
  layer = mlp2d.LinearMaxout(features=3, num_pieces=4, init_stddev=1.0)
  x = jax.random.normal(jax.random.key(0), (5, 2))
  params = jax.jit(layer.init)(jax.random.key(1), x)['params']
  # A nonzero bias, so that the test also checks where it is added.
  params = {
    'dense': {'kernel': params['dense']['kernel'], 'bias': jnp.arange(12, dtype=jnp.float32) / 7.0}
  }
  out = jax.jit(layer.apply)({'params': params}, x)

  kernel = np.asarray(params['dense']['kernel'], np.float64)
  bias = np.asarray(params['dense']['bias'], np.float64)
  x64 = np.asarray(x, np.float64)
  expected = np.empty((5, 3))
  for n in range(5):
    for unit in range(3):
      pieces = [x64[n] @ kernel[:, unit * 4 + k] + bias[unit * 4 + k] for k in range(4)]
      expected[n, unit] = max(pieces)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
