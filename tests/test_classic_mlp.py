"""Tests of the vanilla GAN's MLPs and their options."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.families.classic import mlp
from jaxgan.nn import remedies
from tests import network_helpers


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


# ---------------------------------------------------------------------------
# Options. Small networks on 4x4x2 images keep each test well under a second.

_IMAGES = jax.random.uniform(jax.random.key(10), (8, 4, 4, 2), minval=-1.0, maxval=1.0)
_LABELS = jnp.array([0, 1, 2, 0, 1, 2, 0, 1], jnp.int32)


def _small_discriminator(**kwargs):
  return mlp.MLPDiscriminator(hidden_features=(16, 8), **kwargs)


_init = network_helpers.init
_apply_train = network_helpers.apply_train


def _power_iterate(discriminator, variables, *, steps):
  return network_helpers.power_iterate(discriminator, variables, _IMAGES, steps=steps)


def _shapes(tree):
  return jax.tree.map(lambda x: x.shape, tree)


def test_default_variables_are_unchanged():
  # The names and shapes that checkpoints written before the options hold.
  variables = jax.eval_shape(lambda: _init(mlp.MLPDiscriminator(), jnp.zeros((2, 28, 28, 1))))
  assert _shapes(variables) == {
    'params': {
      'dense_0': {'kernel': (784, 512), 'bias': (512,)},
      'dense_1': {'kernel': (512, 256), 'bias': (256,)},
      'to_logit': {'kernel': (256, 1), 'bias': (1,)},
    }
  }
  generator = mlp.MLPGenerator(image_shape=(4, 4, 1), hidden_features=(8, 16))
  variables = jax.eval_shape(lambda: _init(generator, jnp.zeros((2, 100))))
  assert _shapes(variables) == {
    'params': {
      'dense_0': {'kernel': (100, 8), 'bias': (8,)},
      'dense_1': {'kernel': (8, 16), 'bias': (16,)},
      'batch_norm_1': {'scale': (16,), 'bias': (16,)},
      'to_image': {'kernel': (16, 16), 'bias': (16,)},
    },
    'batch_stats': {'batch_norm_1': {'mean': (16,), 'var': (16,)}},
  }


def test_conditional_generator_depends_on_the_label():
  generator = mlp.MLPGenerator(image_shape=(4, 4, 1), hidden_features=(8, 16), num_classes=3)
  z = jnp.broadcast_to(jax.random.normal(jax.random.key(0), (1, 10)), (2, 10))
  labels = jnp.array([0, 2], jnp.int32)
  variables = _init(generator, z, labels)
  chex.assert_shape(variables['params']['label_embedding']['embedding'], (3, 50))
  # The embedding joins z before the first layer.
  chex.assert_shape(variables['params']['dense_0']['kernel'], (10 + 50, 8))
  images = generator.apply(variables, z, labels, train=False)
  chex.assert_shape(images, (2, 4, 4, 1))
  assert float(jnp.max(jnp.abs(images[0] - images[1]))) > 1e-4
  same_label = generator.apply(variables, z, jnp.array([2, 2], jnp.int32), train=False)
  np.testing.assert_allclose(same_label[0], same_label[1], atol=1e-6)


@pytest.mark.parametrize(
  'module,inputs',
  [
    (functools.partial(mlp.MLPGenerator, (4, 4, 1), (8,)), jnp.zeros((8, 10))),
    (_small_discriminator, _IMAGES),
  ],
  ids=['generator', 'discriminator'],
)
def test_label_misuse_raises(module, inputs):
  with pytest.raises(ValueError, match='unconditional'):
    _init(module(), inputs, _LABELS)
  with pytest.raises(ValueError, match='needs labels'):
    _init(module(num_classes=3), inputs)


@pytest.mark.parametrize(
  'kwargs,match',
  [({'conditioning': 'hidden'}, 'conditioning'), ({'packing': 2, 'num_classes': 3}, 'packing')],
)
def test_discriminator_rejects_bad_options(kwargs, match):
  labels = _LABELS if kwargs.get('num_classes') else None
  with pytest.raises(ValueError, match=match):
    _init(_small_discriminator(**kwargs), _IMAGES, labels)


def test_concat_discriminator_joins_the_embedding_to_the_image():
  discriminator = _small_discriminator(num_classes=3, label_embedding_dim=5)
  variables = _init(discriminator, _IMAGES, _LABELS)
  chex.assert_shape(variables['params']['dense_0']['kernel'], (4 * 4 * 2 + 5, 16))
  embedding = variables['params']['label_embedding']['embedding']
  logits = discriminator.apply(variables, _IMAGES, _LABELS, train=False)
  other = discriminator.apply(variables, _IMAGES, (_LABELS + 1) % 3, train=False)
  assert float(jnp.min(jnp.abs(logits - other))) > 0
  # Known answer: an unconditional D fed [flattened image, embedding].
  params = {k: v for k, v in variables['params'].items() if k != 'label_embedding'}
  inputs = jnp.concatenate([_IMAGES.reshape((8, -1)), embedding[_LABELS]], axis=-1)
  expected = _small_discriminator().apply({'params': params}, inputs, train=False)
  np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_projection_discriminator_adds_the_inner_product():
  discriminator = _small_discriminator(num_classes=3, conditioning='projection')
  variables = _init(discriminator, _IMAGES, _LABELS)
  assert 'label_embedding' not in variables['params']
  embedding = np.asarray(variables['params']['projection_embedding']['embedding'])
  chex.assert_shape(embedding, (3, 8))
  logits, _, phi = _apply_train(discriminator, variables, _IMAGES, _LABELS)
  kernel = np.asarray(variables['params']['to_logit']['kernel'])
  bias = np.asarray(variables['params']['to_logit']['bias'])
  phi = np.asarray(phi)
  projection = np.sum(embedding[np.asarray(_LABELS)] * phi, axis=-1)
  assert np.min(np.abs(projection)) > 0  # The term tested is not zero.
  np.testing.assert_allclose(logits, phi @ kernel[:, 0] + bias[0] + projection, rtol=1e-5)


def test_spectral_norm_normalises_the_dense_kernels():
  discriminator = _small_discriminator(spectral_norm=True)
  variables = _init(discriminator, _IMAGES)
  names = ('dense_0', 'dense_1', 'to_logit')
  assert _shapes(variables['batch_stats']) == {
    f'{n}_spectral_norm': {f'{n}/kernel/u': (1, k), f'{n}/kernel/sigma': ()}
    for n, k in zip(names, (16, 8, 1))
  }
  # Spectral norm leaves the parameters as they are without it.
  assert _shapes(variables['params']) == _shapes(_init(_small_discriminator(), _IMAGES)['params'])
  variables, logits = _power_iterate(discriminator, variables, steps=300)
  batch_stats = variables['batch_stats']
  params = dict(variables['params'])
  for name in names:
    kernel = np.asarray(params[name]['kernel'])
    sigma = batch_stats[f'{name}_spectral_norm'][f'{name}/kernel/sigma']
    np.testing.assert_allclose(np.linalg.svd(kernel, compute_uv=False)[0] / sigma, 1.0, rtol=1e-3)
    params[name] = dict(params[name], kernel=kernel / sigma)
  # The layers ran with kernel / sigma: a plain D with those kernels agrees.
  expected = _small_discriminator().apply({'params': params}, _IMAGES, train=True)
  np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def _logit_change_when_another_sample_changes(discriminator):
  """Max change of logits 1..n-1, training mode, when only sample 0 changes."""
  variables = _init(discriminator, _IMAGES)
  logits, _, _ = _apply_train(discriminator, variables, _IMAGES)
  perturbed, _, _ = _apply_train(discriminator, variables, _IMAGES.at[0].multiply(-0.5))
  assert abs(float(perturbed[0] - logits[0])) > 0  # Sample 0's own logit moved.
  return float(jnp.max(jnp.abs(perturbed[1:] - logits[1:])))


def test_default_discriminator_keeps_samples_independent():
  # The counterpart of the next test: it can tell mixing from independence.
  assert _logit_change_when_another_sample_changes(_small_discriminator()) == 0.0


@pytest.mark.parametrize(
  'kwargs,to_logit_inputs',
  [
    ({'minibatch_discrimination': 6, 'minibatch_discrimination_dim': 3}, 8 + 6),
    ({'minibatch_stddev': 4}, 8 + 1),
  ],
  ids=['minibatch_discrimination', 'minibatch_stddev'],
)
def test_minibatch_remedies_mix_samples(kwargs, to_logit_inputs):
  discriminator = _small_discriminator(**kwargs)
  params = _init(discriminator, _IMAGES)['params']
  chex.assert_shape(params['to_logit']['kernel'], (to_logit_inputs, 1))
  if 'minibatch_discrimination' in kwargs:
    chex.assert_shape(params['minibatch_discrimination']['kernel'], (8, 6, 3))
  assert _logit_change_when_another_sample_changes(discriminator) > 1e-7


@pytest.mark.parametrize('m', [2, 4])
def test_packing(m):
  discriminator = _small_discriminator(packing=m)
  variables = _init(discriminator, _IMAGES)
  chex.assert_shape(variables['params']['dense_0']['kernel'], (m * 4 * 4 * 2, 16))
  logits = discriminator.apply(variables, _IMAGES, train=False)
  chex.assert_shape(logits, (8 // m,))
  # Flatten, then pack: pack k is the flattened images k*m, ..., k*m + m - 1
  # one after the other.
  flat = _IMAGES.reshape((8, -1))
  np.testing.assert_array_equal(remedies.pack(flat, m), flat.reshape((8 // m, -1)))
  expected = _small_discriminator().apply(variables, flat.reshape((8 // m, -1)), train=False)
  np.testing.assert_array_equal(logits, expected)


@pytest.mark.parametrize('minibatch_stddev,width', [(0, 8), (4, 9)])
def test_features_are_sown_and_feed_the_final_dense_layer(minibatch_stddev, width):
  discriminator = _small_discriminator(minibatch_stddev=minibatch_stddev)
  variables = _init(discriminator, _IMAGES)
  assert 'intermediates' not in variables
  logits, _, phi = _apply_train(discriminator, variables, _IMAGES)
  chex.assert_shape(phi, (8, width))
  kernel = variables['params']['to_logit']['kernel']
  bias = variables['params']['to_logit']['bias']
  np.testing.assert_allclose(logits, phi @ kernel[:, 0] + bias[0], rtol=1e-5, atol=1e-6)
