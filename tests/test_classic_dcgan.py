"""Tests of the DCGAN networks, their size presets and options."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.families.classic import dcgan
from jaxgan.nn import remedies
from tests import network_helpers


@pytest.mark.parametrize(
  'generator_preset,discriminator_preset,shape',
  [
    (dcgan.Generator28, dcgan.Discriminator28, (28, 28, 1)),
    (dcgan.Generator64, dcgan.Discriminator64, (64, 64, 3)),
  ],
  ids=['28x28', '64x64'],
)
def test_presets_shapes_and_ranges(generator_preset, discriminator_preset, shape):
  generator = generator_preset(channels=shape[-1])
  discriminator = discriminator_preset()
  assert generator.image_shape == shape
  z = jax.random.normal(jax.random.key(0), (2, 100))
  # One program each (op by op, the convolutions' init takes seconds).
  g_variables = jax.jit(lambda k, z: generator.init(k, z, train=False))(jax.random.key(1), z)
  images = jax.jit(lambda v, z: generator.apply(v, z, train=False))(g_variables, z)
  chex.assert_shape(images, (2, *shape))
  chex.assert_tree_all_finite(images)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  d_variables = jax.jit(lambda k, x: discriminator.init(k, x, train=False))(
    jax.random.key(2), images
  )
  logits = jax.jit(lambda v, x: discriminator.apply(v, x, train=False))(d_variables, images)
  chex.assert_shape(logits, (2,))
  chex.assert_tree_all_finite(logits)


def test_paper_initialisation():
  generator = dcgan.Generator28(channels=1)
  params = generator.init(jax.random.key(0), jnp.zeros((1, 100)), train=False)['params']
  kernel = np.asarray(params['upsample_0']['kernel'])
  assert kernel.shape == (4, 4, 256, 128)
  np.testing.assert_allclose(kernel.std(), 0.02, rtol=0.05)
  np.testing.assert_allclose(kernel.mean(), 0.0, atol=1e-3)
  scale = np.asarray(params['upsample_0_batch_norm']['scale'])
  np.testing.assert_allclose(scale.mean(), 1.0, atol=0.01)
  assert 0.01 < scale.std() < 0.03


def test_discriminator_has_no_batch_norm_on_its_first_layer():
  discriminator = dcgan.Discriminator64()
  variables = discriminator.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)), train=False)
  assert 'downsample_0_batch_norm' not in variables['batch_stats']
  assert set(variables['batch_stats']) == {f'downsample_{i}_batch_norm' for i in (1, 2, 3)}


# ---------------------------------------------------------------------------
# Options. Small networks on 8x8 images keep each test well under a second.

_IMAGES = jax.random.uniform(jax.random.key(10), (8, 8, 8, 2), minval=-1.0, maxval=1.0)
_LABELS = jnp.array([0, 1, 2, 0, 1, 2, 0, 1], jnp.int32)


def _small_discriminator(**kwargs):
  return dcgan.DCGANDiscriminator(features=(4, 8), **kwargs)


_init = network_helpers.init
_apply_train = network_helpers.apply_train


def _power_iterate(discriminator, variables, *, steps):
  return network_helpers.power_iterate(discriminator, variables, _IMAGES, steps=steps)


def _paths(tree):
  return sorted(
    '/'.join(k.key for k in path) for path, _ in jax.tree_util.tree_leaves_with_path(tree)
  )


def test_default_variables_are_unchanged():
  # The names and shapes that checkpoints written before the options hold.
  discriminator = dcgan.Discriminator28()
  variables = jax.eval_shape(lambda: _init(discriminator, jnp.zeros((2, 28, 28, 1))))
  assert set(variables) == {'params', 'batch_stats'}
  assert jax.tree.map(lambda x: x.shape, variables['params']) == {
    'downsample_0': {'kernel': (4, 4, 1, 64), 'bias': (64,)},
    'downsample_1': {'kernel': (4, 4, 64, 128)},
    'downsample_1_batch_norm': {'scale': (128,), 'bias': (128,)},
    'to_logit': {'kernel': (7 * 7 * 128, 1), 'bias': (1,)},
  }
  assert _paths(variables['batch_stats']) == [
    'downsample_1_batch_norm/mean',
    'downsample_1_batch_norm/var',
  ]
  generator = dcgan.Generator28(channels=1)
  variables = jax.eval_shape(lambda: _init(generator, jnp.zeros((2, 100))))
  assert set(variables) == {'params', 'batch_stats'}
  assert _paths(variables['params']) == [
    'project/kernel',
    'project_batch_norm/bias',
    'project_batch_norm/scale',
    'to_image/bias',
    'to_image/kernel',
    'upsample_0/kernel',
    'upsample_0_batch_norm/bias',
    'upsample_0_batch_norm/scale',
    'upsample_1/kernel',
    'upsample_1_batch_norm/bias',
    'upsample_1_batch_norm/scale',
  ]


def test_conditional_generator_depends_on_the_label():
  generator = dcgan.DCGANGenerator(
    channels=1, stem_size=2, features=(8,), upsample_to_image=True, num_classes=3
  )
  z = jnp.broadcast_to(jax.random.normal(jax.random.key(0), (1, 16)), (2, 16))
  labels = jnp.array([0, 2], jnp.int32)
  variables = _init(generator, z, labels)
  chex.assert_shape(variables['params']['label_embedding']['embedding'], (3, 50))
  # The embedding joins z before the first layer.
  chex.assert_shape(variables['params']['project']['kernel'], (16 + 50, 2 * 2 * 8))
  images = generator.apply(variables, z, labels, train=False)
  chex.assert_shape(images, (2, 4, 4, 1))
  assert float(jnp.max(jnp.abs(images[0] - images[1]))) > 1e-4
  same_label = generator.apply(variables, z, jnp.array([2, 2], jnp.int32), train=False)
  np.testing.assert_allclose(same_label[0], same_label[1], atol=1e-6)


@pytest.mark.parametrize(
  'module,inputs',
  [
    (functools.partial(dcgan.DCGANGenerator, 1, 2, (8,), True), jnp.zeros((8, 16))),
    (_small_discriminator, _IMAGES),
  ],
  ids=['generator', 'discriminator'],
)
def test_label_misuse_raises(module, inputs):
  with pytest.raises(ValueError, match='unconditional'):
    _init(module(), inputs, _LABELS)
  with pytest.raises(ValueError, match='needs labels'):
    _init(module(num_classes=3), inputs)
  with pytest.raises(ValueError, match='shape'):
    _init(module(num_classes=3), inputs, _LABELS[:4])


@pytest.mark.parametrize(
  'kwargs,match',
  [
    ({'conditioning': 'hidden'}, 'conditioning'),
    ({'normalization': 'group_norm'}, 'normalization'),
    ({'packing': 2, 'num_classes': 3}, 'packing'),
  ],
)
def test_discriminator_rejects_bad_options(kwargs, match):
  labels = _LABELS if kwargs.get('num_classes') else None
  with pytest.raises(ValueError, match=match):
    _init(_small_discriminator(**kwargs), _IMAGES, labels)


def test_concat_discriminator_reads_the_label_as_an_extra_channel():
  discriminator = _small_discriminator(num_classes=3, normalization='none')
  variables = _init(discriminator, _IMAGES, _LABELS)
  chex.assert_shape(variables['params']['downsample_0']['kernel'], (4, 4, 2 + 1, 4))
  embedding = variables['params']['label_embedding']['embedding']
  chex.assert_shape(embedding, (3, 8 * 8))
  logits = discriminator.apply(variables, _IMAGES, _LABELS, train=False)
  other = discriminator.apply(variables, _IMAGES, (_LABELS + 1) % 3, train=False)
  assert float(jnp.min(jnp.abs(logits - other))) > 0
  # Known answer: an unconditional D fed the image with the label's map as
  # channel C + 1.
  label_maps = embedding[_LABELS].reshape((8, 8, 8, 1))
  params = {k: v for k, v in variables['params'].items() if k != 'label_embedding'}
  expected = _small_discriminator(normalization='none').apply(
    {'params': params}, jnp.concatenate([_IMAGES, label_maps], axis=-1), train=False
  )
  np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_projection_discriminator_adds_the_inner_product():
  discriminator = _small_discriminator(num_classes=3, conditioning='projection')
  variables = _init(discriminator, _IMAGES, _LABELS)
  assert 'label_embedding' not in variables['params']
  embedding = np.asarray(variables['params']['projection_embedding']['embedding'])
  chex.assert_shape(embedding, (3, 2 * 2 * 8))
  logits, _, phi = _apply_train(discriminator, variables, _IMAGES, _LABELS)
  kernel = np.asarray(variables['params']['to_logit']['kernel'])
  bias = np.asarray(variables['params']['to_logit']['bias'])
  phi = np.asarray(phi)
  expected = phi @ kernel[:, 0] + bias[0] + np.sum(embedding[np.asarray(_LABELS)] * phi, axis=-1)
  np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
  # Both terms matter: the inner product is not negligible next to the dense term.
  assert np.min(np.abs(np.sum(embedding[np.asarray(_LABELS)] * phi, axis=-1))) > 0


def test_spectral_norm_normalises_the_reshaped_kernels():
  discriminator = _small_discriminator(spectral_norm=True, normalization='none')
  variables = _init(discriminator, _IMAGES)
  names = ('downsample_0', 'downsample_1', 'to_logit')
  # init creates u and sigma for every convolution and dense layer.
  assert _paths(variables['batch_stats']) == sorted(
    f'{n}_spectral_norm/{n}/kernel/{v}' for n in names for v in ('sigma', 'u')
  )
  variables, logits = _power_iterate(discriminator, variables, steps=300)
  batch_stats = variables['batch_stats']
  for name in names:
    kernel = np.asarray(variables['params'][name]['kernel'])
    sigma = float(batch_stats[f'{name}_spectral_norm'][f'{name}/kernel/sigma'])
    # HWIO: the (k * k * in, out) matrix from one input patch to one output pixel.
    matrix = kernel.reshape((-1, kernel.shape[-1]))
    top = np.linalg.svd(matrix, compute_uv=False)[0]
    np.testing.assert_allclose(top / sigma, 1.0, rtol=1e-3)
  # The layers ran with kernel / sigma: a plain D with those kernels agrees.
  params = jax.tree.map(lambda x: x, variables['params'])
  for name in names:
    sigma = batch_stats[f'{name}_spectral_norm'][f'{name}/kernel/sigma']
    params[name] = dict(params[name], kernel=params[name]['kernel'] / sigma)
  expected = _small_discriminator(normalization='none').apply(
    {'params': params}, _IMAGES, train=True
  )
  np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_without_spectral_norm_there_is_no_sigma():
  variables = _init(_small_discriminator(), _IMAGES)
  assert not any('sigma' in path for path in _paths(variables['batch_stats']))
  assert 'batch_stats' not in _init(_small_discriminator(normalization='none'), _IMAGES)


def _logit_change_when_another_sample_changes(discriminator):
  """Max change of logits 1..n-1, training mode, when only sample 0 changes."""
  variables = _init(discriminator, _IMAGES)
  logits, _, _ = _apply_train(discriminator, variables, _IMAGES)
  perturbed, _, _ = _apply_train(discriminator, variables, _IMAGES.at[0].multiply(-0.5))
  assert abs(float(perturbed[0] - logits[0])) > 0  # Sample 0's own logit moved.
  return float(jnp.max(jnp.abs(perturbed[1:] - logits[1:])))


@pytest.mark.parametrize('normalization', ['layer_norm', 'none'])
def test_per_sample_normalizations_keep_samples_independent(normalization):
  discriminator = _small_discriminator(normalization=normalization)
  variables = _init(discriminator, _IMAGES)
  assert 'batch_stats' not in variables
  if normalization == 'layer_norm':
    chex.assert_shape(variables['params']['downsample_1_layer_norm']['scale'], (8,))
    assert 'bias' not in variables['params']['downsample_1']
  else:
    chex.assert_shape(variables['params']['downsample_1']['bias'], (8,))
  assert _logit_change_when_another_sample_changes(discriminator) == 0.0


def test_batch_norm_mixes_samples_in_training():
  # The counterpart of the test above: it can tell mixing from independence.
  assert _logit_change_when_another_sample_changes(_small_discriminator()) > 1e-6


@pytest.mark.parametrize(
  'kwargs,to_logit_inputs',
  [
    ({'minibatch_discrimination': 6, 'minibatch_discrimination_dim': 3}, 2 * 2 * 8 + 6),
    ({'minibatch_stddev': 4}, 2 * 2 * (8 + 1)),
  ],
  ids=['minibatch_discrimination', 'minibatch_stddev'],
)
def test_minibatch_remedies_mix_samples(kwargs, to_logit_inputs):
  discriminator = _small_discriminator(normalization='none', **kwargs)
  params = _init(discriminator, _IMAGES)['params']
  chex.assert_shape(params['to_logit']['kernel'], (to_logit_inputs, 1))
  if 'minibatch_discrimination' in kwargs:
    chex.assert_shape(params['minibatch_discrimination']['kernel'], (2 * 2 * 8, 6, 3))
  assert _logit_change_when_another_sample_changes(discriminator) > 1e-7


@pytest.mark.parametrize('m', [2, 4])
def test_packing(m):
  discriminator = _small_discriminator(packing=m)
  variables = _init(discriminator, _IMAGES)
  chex.assert_shape(variables['params']['downsample_0']['kernel'], (4, 4, m * 2, 4))
  logits = discriminator.apply(variables, _IMAGES, train=False)
  chex.assert_shape(logits, (8 // m,))
  # Pack order: what an unpacked D makes of remedies.pack's output.
  expected = _small_discriminator().apply(variables, remedies.pack(_IMAGES, m), train=False)
  np.testing.assert_array_equal(logits, expected)
  # ... which is sample-major: pack k's channels are sample k*m's, then the next.
  np.testing.assert_array_equal(remedies.pack(_IMAGES, m)[1, ..., 2:4], _IMAGES[m + 1])


def test_features_are_sown_and_feed_the_final_dense_layer():
  discriminator = _small_discriminator()
  variables = _init(discriminator, _IMAGES)
  assert 'intermediates' not in variables
  logits, _, phi = _apply_train(discriminator, variables, _IMAGES)
  chex.assert_shape(phi, (8, 2 * 2 * 8))
  kernel = variables['params']['to_logit']['kernel']
  bias = variables['params']['to_logit']['bias']
  np.testing.assert_allclose(logits, phi @ kernel[:, 0] + bias[0], rtol=1e-5, atol=1e-6)
