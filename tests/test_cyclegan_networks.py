"""Tests of CycleGAN's networks: sizes, shapes, padding, normalisation, receptive field."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from jaxgan.families.cyclegan import networks


def count(params):
  return sum(x.size for x in jax.tree.leaves(params))


def conv_size(k, cin, cout):
  """Parameters of a k x k conv with a bias (every conv here has one)."""
  return k * k * cin * cout + cout


def generator_size(cin, cout, ngf, blocks):
  return (
    conv_size(7, cin, ngf)  # Stem.
    + conv_size(3, ngf, 2 * ngf)  # Downsamplings.
    + conv_size(3, 2 * ngf, 4 * ngf)
    + blocks * 2 * conv_size(3, 4 * ngf, 4 * ngf)  # Two convs per residual block.
    + conv_size(3, 4 * ngf, 2 * ngf)  # Upsamplings (transposed).
    + conv_size(3, 2 * ngf, ngf)
    + conv_size(7, ngf, cout)  # To the image.
  )


def discriminator_size(cin, ndf):
  return (
    conv_size(4, cin, ndf)
    + conv_size(4, ndf, 2 * ndf)
    + conv_size(4, 2 * ndf, 4 * ndf)
    + conv_size(4, 4 * ndf, 8 * ndf)
    + conv_size(4, 8 * ndf, 1)
  )


def shapes(module, x):
  """Output and parameter shapes, without computing anything."""
  return jax.eval_shape(module.init_with_output, jax.random.key(0), x)


def key(seed):
  # Threefry's bit generator takes seconds to compile on XLA:CPU, RngBitGenerator
  # a fraction of that ('unsafe' only in that its bits change with the
  # backend); which bits come out does not matter to these tests.
  return jax.random.key(seed, impl='unsafe_rbg')


@pytest.fixture(scope='module')
def small_generator():
  """A tiny generator's variables, and its output on 2 images and on a changed copy.

  The second image of the copy is negated: with InstanceNorm (not
  BatchNorm) the first image's output must not move. All 4 go through as
  one batch, which BatchNorm would mix too.
  """
  generator = networks.ResnetGenerator(out_channels=3, filters=8, num_blocks=2)
  images = np.random.default_rng(2).uniform(-1.0, 1.0, (2, 32, 32, 1)).astype(np.float32)
  changed = images.copy()
  changed[1] *= -1.0

  # Init runs the forward pass anyway: its output is the test's forward pass.
  generated, variables = jax.jit(generator.init_with_output)(
    key(3), np.concatenate([images, changed])
  )
  return variables, generated[:2], generated[2:]


def test_default_sizes_match_the_reference():
  # G, 9 blocks, ngf 64, RGB: 9,472 (7x7 3->64) + 73,856 (3x3 64->128)
  # + 295,168 (128->256) + 9 * 2 * 590,080 (256->256) + 295,040 (256->128)
  # + 73,792 (128->64) + 9,411 (7x7 64->3) = 11,378,179.
  # D, ndf 64, RGB: 3,136 (4x4 3->64) + 131,200 (64->128) + 524,544
  # (128->256) + 2,097,664 (256->512) + 8,193 (512->1) = 2,764,737.
  # The reference prints 11.378 M and 2.765 M.
  images = jnp.ones((1, 256, 256, 3))
  generated, g_variables = shapes(networks.ResnetGenerator(out_channels=3), images)
  logits, d_variables = shapes(networks.PatchDiscriminator(), images)
  assert generator_size(3, 3, 64, 9) == count(g_variables['params']) == 11_378_179
  assert discriminator_size(3, 64) == count(d_variables['params']) == 2_764_737
  # InstanceNorm without affine parameters or running statistics: params only.
  assert set(g_variables) == set(d_variables) == {'params'}
  chex.assert_shape(generated, (1, 256, 256, 3))
  chex.assert_shape(logits, (1, 30, 30, 1))
  assert logits.dtype == jnp.float32


def test_small_preset_sizes():
  # configs/cyclegan_mnist.py's. G 1 -> 3 channels, ngf 16, 6 blocks: 800
  # + 4,640 + 18,496 + 6 * 2 * 36,928 + 18,464 + 4,624 + 2,355 = 492,515.
  # D, ndf 32 on RGB: 1,568 + 32,832 + 131,200 + 524,544 + 4,097 = 694,241.
  images = jnp.ones((2, 32, 32, 1))
  generator = networks.ResnetGenerator(out_channels=3, filters=16, num_blocks=6)
  generated, g_variables = shapes(generator, images)
  logits, d_variables = shapes(networks.PatchDiscriminator(filters=32), generated)
  assert generator_size(1, 3, 16, 6) == count(g_variables['params']) == 492_515
  assert discriminator_size(3, 32) == count(d_variables['params']) == 694_241
  chex.assert_shape(generated, (2, 32, 32, 3))
  # 32 -> 16 -> 8 -> 4 -> 3 -> 2.
  chex.assert_shape(logits, (2, 2, 2, 1))


def test_parameter_shapes_and_initialisation(small_generator):
  params = small_generator[0]['params']
  assert set(params) == {
    'stem',
    'downsample_0',
    'downsample_1',
    'block_0',
    'block_1',
    'upsample_0',
    'upsample_1',
    'to_image',
  }
  chex.assert_shape(params['stem']['kernel'], (7, 7, 1, 8))
  chex.assert_shape(params['upsample_0']['kernel'], (3, 3, 32, 16))
  chex.assert_shape(params['block_0']['conv_1']['kernel'], (3, 3, 32, 32))
  # init_weights('normal', 0.02): N(0, 0.02) weights, zero biases.
  kernel = params['block_0']['conv_0']['kernel']
  assert 0.019 < float(jnp.std(kernel)) < 0.021
  assert abs(float(jnp.mean(kernel))) < 0.001
  flat = traverse_util.flatten_dict(params)
  biases = [p for path, p in flat.items() if path[-1] == 'bias']
  assert len(biases) == len(flat) // 2  # Every conv has one.
  for bias in biases:
    np.testing.assert_array_equal(bias, 0.0)


def test_generator_forward_at_32(small_generator):
  _, generated, generated_changed = small_generator
  chex.assert_shape(generated, (2, 32, 32, 3))
  chex.assert_tree_all_finite(generated)
  assert float(jnp.max(jnp.abs(generated))) <= 1.0
  assert float(jnp.std(generated)) > 0.0
  np.testing.assert_allclose(generated_changed[0], generated[0], atol=1e-6)
  assert not np.allclose(generated_changed[1], generated[1])


@pytest.mark.parametrize('size', [(30, 32), (32, 30), (4, 4), (6, 8)])
def test_generator_rejects_sizes(size):
  generator = networks.ResnetGenerator(out_channels=3, filters=8, num_blocks=1)
  with pytest.raises(ValueError, match=rf'multiples of 4 and at least 8.*got {size[0]}x{size[1]}'):
    shapes(generator, jnp.ones((1, *size, 3)))


def test_discriminator_rejects_small_images():
  discriminator = networks.PatchDiscriminator(filters=8)
  # 24 = 3 * 2**3 is the smallest side that gives a 1x1 map.
  logits, _ = shapes(discriminator, jnp.ones((1, 24, 24, 3)))
  chex.assert_shape(logits, (1, 1, 1, 1))
  with pytest.raises(ValueError, match=r'at least 24x24 .* got 23x64'):
    shapes(discriminator, jnp.ones((1, 23, 64, 3)))


def test_reflection_pad():
  x = jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)
  # Reflection indices for size 3, pad 2: 2 1 0 | 0 1 2 | 1 0 (edge not repeated).
  r0, r1, r2 = [3, 2, 1, 2, 3, 2, 1], [6, 5, 4, 5, 6, 5, 4], [9, 8, 7, 8, 9, 8, 7]
  expected = np.array([r2, r1, r0, r1, r2, r1, r0], np.float32)
  np.testing.assert_array_equal(networks.reflection_pad(x, 2)[0, :, :, 0], expected)
  # Only H and W are padded, also with leading batch dimensions.
  x = np.random.default_rng(0).normal(size=(2, 3, 5, 4, 2)).astype(np.float32)
  np.testing.assert_array_equal(
    networks.reflection_pad(x, 3),
    np.pad(x, ((0, 0), (0, 0), (3, 3), (3, 3), (0, 0)), mode='reflect'),
  )
  with pytest.raises(ValueError, match='reflection padding 3'):
    networks.reflection_pad(jnp.ones((1, 3, 8, 1)), 3)


def test_instance_norm_per_sample_and_channel():
  norm = networks.instance_norm()
  rng = np.random.default_rng(1)
  # Each (sample, channel) with its own offset and scale.
  x = rng.normal(size=(3, 6, 5, 4)) * rng.uniform(0.5, 5, (3, 1, 1, 4))
  x = (x + rng.normal(0, 10, (3, 1, 1, 4))).astype(np.float32)
  # affine=False, track_running_stats=False: no variables at all.
  assert not jax.eval_shape(norm.init, jax.random.key(0), x)
  apply = jax.jit(lambda x: norm.apply({}, x))
  y = np.asarray(apply(x), np.float64)
  np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-5)
  # Biased variance and eps 1e-5: var(y) = var(x) / (var(x) + 1e-5).
  mean = x.mean(axis=(1, 2), keepdims=True, dtype=np.float64)
  var = x.var(axis=(1, 2), keepdims=True, dtype=np.float64)
  np.testing.assert_allclose(y.var(axis=(1, 2)), (var / (var + 1e-5))[:, 0, 0], rtol=1e-4)
  np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), atol=1e-4)
  # Samples are normalised alone: changing one leaves the others unchanged.
  changed = x.copy()
  changed[0] = changed[0] * 7.0 + 3.0
  np.testing.assert_allclose(apply(changed)[1:], y[1:], atol=1e-6)


def test_patchgan_receptive_field_is_70():
  discriminator = networks.PatchDiscriminator(filters=8, conv_implementation='xla')
  rng = np.random.default_rng(4)
  images = rng.normal(size=(1, 128, 128, 1)).astype(np.float32)
  # Random values in the variables' shapes, biases included: no init to compile.
  variables = jax.tree.map(
    lambda p: rng.normal(0.0, 0.1, p.shape).astype(np.float32), shapes(discriminator, images)[1]
  )

  # InstanceNorm's statistics mix every position into every logit; with it
  # skipped, what remains is the convolutions' window.
  def skip_instance_norm(next_fun, args, kwargs, context):
    if isinstance(context.module, nn.InstanceNorm) and context.method_name == '__call__':
      return args[0]
    return next_fun(*args, **kwargs)

  def logit(images):
    with nn.intercept_methods(skip_instance_norm):
      logits = discriminator.apply(variables, images)
    return logits[0, 7, 7, 0]

  grad = np.abs(np.asarray(jax.jit(jax.grad(logit))(images)))[0, :, :, 0]
  rows, cols = np.nonzero(grad)
  # 128 -> 64 -> 32 -> 16 -> 15 -> 14; output 7 starts at 7 * 8 - 23 = 33, where
  # 8 is the total stride and 23 = 1 + 2 + 4 + 8 + 8 the padding in input rows.
  assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (33, 103, 33, 103)
  assert np.all(grad[33:103, 33:103] > 0)  # Dense inside the 70x70 window.
