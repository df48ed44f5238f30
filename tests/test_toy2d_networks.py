"""Tests of the 2-D mode-collapse networks (PacGAN's ring and grid MLPs)."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.families.toy2d import networks
from jaxgan.nn import remedies


def count(params):
  return sum(x.size for x in jax.tree.leaves(params))


def test_generator_shape_and_size():
  generator = networks.PointGenerator()
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
  generator = networks.PointGenerator(hidden_features=(8,))
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
  discriminator = networks.MaxoutDiscriminator()
  points = jnp.zeros((3, 2))
  params = jax.eval_shape(
    lambda: discriminator.init(jax.random.key(0), points, train=False)['params']
  )
  logits = jax.eval_shape(lambda p: discriminator.apply({'params': p}, points, train=False), params)
  chex.assert_shape(logits, (3,))
  # Each maxout layer holds 200 units x 5 pieces = 1000 affine outputs.
  assert count(params) == ((2 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + (200 + 1))


def test_discriminator_flattens_packs():
  discriminator = networks.MaxoutDiscriminator(hidden_features=(4,), num_pieces=2)
  packs = jnp.zeros((3, 4, 2))  # 3 packs of 4 points.
  params = jax.eval_shape(
    lambda: discriminator.init(jax.random.key(0), packs, train=False)['params']
  )
  chex.assert_shape(params['maxout_0']['dense']['kernel'], (8, 8))
  chex.assert_shape(
    jax.eval_shape(lambda p: discriminator.apply({'params': p}, packs, train=False), params), (3,)
  )


def test_linear_maxout_matches_numpy():
  layer = networks.LinearMaxout(features=3, num_pieces=4, init_stddev=1.0)
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


# ---------------------------------------------------------------------------
# Options: labels, packing, minibatch discrimination, sown features.

_POINTS = jax.random.normal(jax.random.key(10), (8, 2))


def _small_discriminator(**kwargs):
  return networks.MaxoutDiscriminator(hidden_features=(6, 4), num_pieces=2, **kwargs)


def _init(module, *args):
  return module.init(jax.random.key(0), *args, train=False)


def _apply_train(module, variables, points):
  """Training-mode logits and the sown features."""
  logits, updates = module.apply(variables, points, train=True, mutable=['intermediates'])
  return logits, updates['intermediates']['features'][0]


def test_default_discriminator_variables_are_unchanged():
  variables = jax.eval_shape(lambda: _init(networks.MaxoutDiscriminator(), jnp.zeros((3, 2))))
  assert jax.tree.map(lambda x: x.shape, variables) == {
    'params': {
      'maxout_0': {'dense': {'kernel': (2, 1000), 'bias': (1000,)}},
      'maxout_1': {'dense': {'kernel': (200, 1000), 'bias': (1000,)}},
      'maxout_2': {'dense': {'kernel': (200, 1000), 'bias': (1000,)}},
      'to_logit': {'kernel': (200, 1), 'bias': (1,)},
    }
  }


def test_labels_are_rejected():
  labels = jnp.zeros((8,), jnp.int32)
  with pytest.raises(ValueError, match='unconditional'):
    _init(networks.PointGenerator(hidden_features=(4,)), _POINTS, labels)
  with pytest.raises(ValueError, match='unconditional'):
    _init(_small_discriminator(), _POINTS, labels)


@pytest.mark.parametrize('m', [2, 4])
def test_discriminator_packing(m):
  discriminator = _small_discriminator(packing=m)
  params = _init(discriminator, _POINTS)['params']
  chex.assert_shape(params['maxout_0']['dense']['kernel'], (2 * m, 12))
  logits = discriminator.apply({'params': params}, _POINTS, train=False)
  chex.assert_shape(logits, (8 // m,))
  # (B, 2) -> (B / m, 2 m), consecutive points side by side: remedies.pack
  # on vectors, and what the unpacked D makes of points packed beforehand.
  packed = _POINTS.reshape((8 // m, 2 * m))
  np.testing.assert_array_equal(remedies.pack(_POINTS, m), packed)
  expected = _small_discriminator().apply({'params': params}, packed, train=False)
  np.testing.assert_array_equal(logits, expected)


def test_discriminator_packing_must_divide_the_batch():
  with pytest.raises(ValueError, match='divide'):
    _init(_small_discriminator(packing=3), _POINTS)


def test_minibatch_discrimination_mixes_samples():
  perturbed_points = _POINTS.at[0].multiply(-0.5)
  changes = {}
  for kernels in (0, 3):
    discriminator = _small_discriminator(minibatch_discrimination=kernels)
    params = _init(discriminator, _POINTS)['params']
    logits = discriminator.apply({'params': params}, _POINTS, train=True)
    perturbed = discriminator.apply({'params': params}, perturbed_points, train=True)
    changes[kernels] = float(jnp.max(jnp.abs(perturbed[1:] - logits[1:])))
    if kernels:
      chex.assert_shape(params['minibatch_discrimination']['kernel'], (4, 3, 5))
      chex.assert_shape(params['to_logit']['kernel'], (4 + 3, 1))
  assert changes[0] == 0.0  # Without it, logit i ignores sample j ...
  assert changes[3] > 1e-7  # ... with it, it does not.


def test_features_are_sown_and_feed_the_output_layer():
  discriminator = _small_discriminator()
  variables = _init(discriminator, _POINTS)
  assert 'intermediates' not in variables
  logits, phi = _apply_train(discriminator, variables, _POINTS)
  chex.assert_shape(phi, (8, 4))
  kernel = variables['params']['to_logit']['kernel']
  bias = variables['params']['to_logit']['bias']
  np.testing.assert_allclose(logits, phi @ kernel[:, 0] + bias[0], rtol=1e-5, atol=1e-6)
