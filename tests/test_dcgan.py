"""Tests of the DCGAN networks and their size presets."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import dcgan


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
  g_variables = generator.init(jax.random.key(1), z, train=False)
  images = jax.jit(lambda v, z: generator.apply(v, z, train=False))(g_variables, z)
  chex.assert_shape(images, (2, *shape))
  chex.assert_tree_all_finite(images)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  d_variables = discriminator.init(jax.random.key(2), images, train=False)
  logits = discriminator.apply(d_variables, images, train=False)
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
