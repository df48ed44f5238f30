"""Tests of StyleGAN's networks: shapes, equalised lr, AdaIN, demodulation, noise, styles, filters."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import traverse_util

from jaxgan.families.stylegan import networks
from jaxgan.nn import remedies

# Tiny networks: 16 channels at most, w of 16.
W_DIM = 16
TINY = {'fmap_base': 64, 'fmap_max': 16}


def key(seed):
  # RngBitGenerator compiles much faster than threefry on XLA:CPU; which bits
  # come out does not matter to these tests.
  return jax.random.key(seed, impl='unsafe_rbg')


def count(params):
  return sum(x.size for x in jax.tree.leaves(params))


def shapes(module, *args):
  """Output and variable shapes, without computing anything."""
  return jax.eval_shape(module.init_with_output, key(0), *args)


def random_like(variables, seed, scale=1.0):
  """Random values in the variables' shapes: no init to compile."""
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda p: (rng.normal(size=p.shape) * scale).astype(np.float32), variables)


# ---------------------------------------------------------------------------
# Shapes.


@pytest.mark.parametrize('resolution', [8, 16, 32])
@pytest.mark.parametrize(
  'style,architecture',
  [('adain', 'orig'), ('adain', 'skip'), ('modulated', 'orig'), ('modulated', 'skip')],
)
def test_synthesis_shapes(resolution, style, architecture):
  synthesis = networks.SynthesisNetwork(
    resolution, channels=3, style=style, architecture=architecture, **TINY
  )
  # Two ws per resolution from 4x4: 4, 6, 8.
  assert synthesis.num_ws == networks.num_ws(resolution) == 2 * int(math.log2(resolution)) - 2
  ws = jnp.zeros((2, synthesis.num_ws, W_DIM))
  images, variables = shapes(synthesis, ws, jax.random.split(jax.random.key(1), 2))
  chex.assert_shape(images, (2, resolution, resolution, 3))
  assert images.dtype == jnp.float32
  # One 'skip' toRGB per resolution, one 'orig' toRGB at the end.
  to_rgb = [
    name for name in variables['params'] if name.startswith('to_rgb_') and '_bias' not in name
  ]
  assert len(to_rgb) == (int(math.log2(resolution)) - 1 if architecture == 'skip' else 1)


def test_synthesis_rejects_wrong_ws_and_resolution():
  synthesis = networks.SynthesisNetwork(16, style='adain', **TINY)
  with pytest.raises(ValueError, match=r'\(B, 6, w_dim\).*broadcast_ws'):
    shapes(synthesis, jnp.zeros((2, 8, W_DIM)))
  with pytest.raises(ValueError, match='power of 2, at least 8'):
    shapes(networks.SynthesisNetwork(12, **TINY), jnp.zeros((2, 4, W_DIM)))


@pytest.mark.parametrize('architecture', ['orig', 'resnet'])
@pytest.mark.parametrize('resolution', [8, 16, 32])
def test_discriminator_shapes(architecture, resolution):
  discriminator = networks.Discriminator(resolution, channels=1, architecture=architecture, **TINY)
  logits, _ = shapes(discriminator, jnp.zeros((4, resolution, resolution, 1)))
  chex.assert_shape(logits, (4,))
  assert logits.dtype == jnp.float32


def test_feature_maps_follow_each_references_stage_index():
  # fmap_base 2048, fmap_max 128. StyleGAN: nf(log2(res) - 1) = 4096 / res;
  # StyleGAN2: nf(log2(res)) = 2048 / res.
  config = {'fmap_base': 2048, 'fmap_max': 128}
  adain = networks.SynthesisNetwork(32, style='adain', **config)
  modulated = networks.SynthesisNetwork(32, style='modulated', **config)
  assert [adain.features(r) for r in (4, 8, 16, 32)] == [128, 128, 128, 128]
  assert [modulated.features(r) for r in (4, 8, 16, 32)] == [128, 128, 128, 64]
  _, variables = shapes(adain, jnp.zeros((1, 8, 128)))
  chex.assert_shape(variables['params']['const'], (4, 4, 128))  # Ones, nf(1).
  chex.assert_shape(variables['params']['to_rgb_32']['kernel'], (1, 1, 128, 3))
  _, variables = shapes(modulated, jnp.zeros((1, 8, 128)))
  chex.assert_shape(variables['params']['layer_6']['conv']['weight'], (3, 3, 64, 64))
  chex.assert_shape(variables['params']['layer_5']['conv']['weight'], (3, 3, 128, 64))


def test_sizes_at_32_by_hand():
  # Resolution 32, RGB, fmap_base 2048, fmap_max 128, w_dim 128.
  config = {'fmap_base': 2048, 'fmap_max': 128}
  ws = jnp.zeros((1, 8, 128))
  images = jnp.zeros((4, 32, 32, 3))
  conv = lambda cin, cout, k=3: k * k * cin * cout + cout
  affine = lambda cin: 128 * cin + cin  # w -> one style per input channel.
  # StyleGAN: 128 channels throughout. The constant, then per layer noise
  # weights, bias and AdaIN's dense to 2C; every layer but the first has a conv.
  adain_layer = 128 + 128 + (128 * 256 + 256)
  adain = 4 * 4 * 128 + 8 * adain_layer + 7 * 3 * 3 * 128 * 128 + conv(128, 3, 1)
  # StyleGAN2: 128 channels at 4 to 16, 64 at 32. A layer: affine, weight,
  # one noise strength, bias; a toRGB: affine, 1x1 weight, bias.
  layer = lambda cin, cout: affine(cin) + conv(cin, cout) + 1
  to_rgb = lambda cin: affine(cin) + conv(cin, 3, 1)
  modulated = (
    4 * 4 * 128
    + 5 * layer(128, 128)
    + layer(128, 64)
    + layer(64, 64)
    + 3 * to_rgb(128)
    + to_rgb(64)
  )
  # The 4x4 epilogue: conv from C + 1 (the stddev map), dense from 16 C, logit.
  epilogue = conv(129, 128) + (16 * 128 * 128 + 128) + 129
  orig = conv(3, 128, 1) + 6 * conv(128, 128) + epilogue
  resnet = (
    conv(3, 64, 1)
    + conv(64, 64)
    + conv(64, 128)
    + 64 * 128  # At 32, the skip conv without bias.
    + 2 * (2 * conv(128, 128) + 128 * 128)  # At 16 and 8.
    + epilogue
  )
  sizes = {
    'adain': count(shapes(networks.SynthesisNetwork(32, style='adain', **config), ws)[1]),
    'modulated': count(shapes(networks.SynthesisNetwork(32, style='modulated', **config), ws)[1]),
    'orig': count(shapes(networks.Discriminator(32, architecture='orig', **config), images)[1]),
    'resnet': count(shapes(networks.Discriminator(32, architecture='resnet', **config), images)[1]),
  }
  assert sizes == {'adain': adain, 'modulated': modulated, 'orig': orig, 'resnet': resnet}
  assert sizes == {
    'adain': 1_300_867,
    'modulated': 1_017_171,
    'orig': 1_297_153,
    'resnet': 1_153_473,
  }
  mapping = networks.MappingNetwork(z_dim=128, w_dim=128, num_layers=8)
  assert count(shapes(mapping, jnp.zeros((1, 128)))[1]) == 8 * (128 * 128 + 128) == 132_096


def test_mapping_shape_and_size():
  mapping = networks.MappingNetwork(z_dim=8, w_dim=W_DIM, num_layers=3)
  w, variables = shapes(mapping, jnp.zeros((5, 8)))
  chex.assert_shape(w, (5, W_DIM))
  # 8 -> 16 -> 16 -> 16, each with a bias.
  assert count(variables['params']) == (8 * 16 + 16) + 2 * (16 * 16 + 16)


@pytest.mark.parametrize('gain_after_activation', [False, True])
def test_mapping_puts_the_activation_gain_where_its_reference_does(gain_after_activation):
  # StyleGAN: lrelu(sqrt(2) W x / sqrt(fan_in) + b lrmul); StyleGAN2 (and
  # stylegan2-ada-pytorch): sqrt(2) lrelu(W x / sqrt(fan_in) + b lrmul).
  mapping = networks.MappingNetwork(
    z_dim=4, w_dim=4, num_layers=1, gain_after_activation=gain_after_activation
  )
  z = jax.random.normal(jax.random.key(0), (3, 4))
  params = mapping.init(jax.random.key(1), z)['params']
  params = {'dense_0': {**params['dense_0'], 'bias': jnp.arange(4.0) - 1.5}}
  kernel, bias = params['dense_0']['kernel'] * 0.01 / 2.0, params['dense_0']['bias'] * 0.01
  x = networks.pixel_norm(z)
  lrelu = lambda y: jnp.where(y > 0, y, 0.2 * y)
  expected = (
    np.sqrt(2) * lrelu(x @ kernel + bias)
    if gain_after_activation
    else lrelu(np.sqrt(2) * (x @ kernel) + bias)
  )
  np.testing.assert_allclose(mapping.apply({'params': params}, z), expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# Equalised learning rate.


@pytest.mark.parametrize('lr_multiplier', [1.0, 0.01])
def test_equalized_dense_storage_and_runtime_scale(lr_multiplier):
  layer = networks.EqualizedDense(256, lr_multiplier=lr_multiplier, bias_init=0.5)
  x = np.random.default_rng(0).normal(size=(3, 400)).astype(np.float32)
  variables = jax.jit(layer.init)(key(0), x)
  kernel = np.asarray(variables['params']['kernel'], np.float64)
  # Stored N(0, 1 / lr_multiplier^2): 102,400 samples, std within 1%.
  assert abs(kernel.std() * lr_multiplier - 1.0) < 0.01
  np.testing.assert_array_equal(variables['params']['bias'], 0.5)
  # Run time: x @ (kernel * gain * lr_multiplier / sqrt(fan_in)) + bias * lr_multiplier.
  expected = x @ (kernel * math.sqrt(2) * lr_multiplier / math.sqrt(400)) + 0.5 * lr_multiplier
  np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=1e-4, atol=1e-4)


def test_equalized_conv_runtime_scale():
  layer = networks.EqualizedConv(5, 3, gain=1.7, conv_implementation='fast')
  x = np.random.default_rng(1).normal(size=(2, 6, 6, 4)).astype(np.float32)
  variables = random_like(shapes(layer, x)[1], 2)
  kernel = variables['params']['kernel'] * 1.7 / math.sqrt(3 * 3 * 4)
  expected = jax.lax.conv_general_dilated(
    x, kernel, (1, 1), ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC')
  )
  np.testing.assert_allclose(
    layer.apply(variables, x), expected + variables['params']['bias'], rtol=1e-4, atol=1e-5
  )


@pytest.mark.parametrize('resample', ['up', 'down'])
def test_fused_resampling_conv_equals_the_separate_ops(resample):
  # StyleGAN's non-fused ops: nearest upsampling then conv, or conv then 2x2 average.
  layer = networks.EqualizedConv(5, 3, resample=resample, use_bias=False)
  x = np.random.default_rng(15).normal(size=(2, 6, 6, 4)).astype(np.float32)
  variables = random_like(shapes(layer, x)[1], 16)
  kernel = variables['params']['kernel'] * math.sqrt(2) / math.sqrt(3 * 3 * 4)
  conv = lambda x: jax.lax.conv_general_dilated(
    x, kernel, (1, 1), ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC')
  )
  if resample == 'up':
    expected = conv(networks.upsample_nearest2d(x))
  else:
    expected = networks.downsample_box2d(conv(x))
  y = jax.jit(layer.apply)(variables, x)
  chex.assert_shape(y, expected.shape)
  # Borders included.
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_mapping_lr_multiplier_slows_adam_100_times():
  z = np.random.default_rng(3).normal(size=(8, 16)).astype(np.float32)

  def effective_step(lr_multiplier):
    """One Adam step's change of each layer's effective weights (stored * runtime scale)."""
    mapping = networks.MappingNetwork(
      z_dim=16, w_dim=W_DIM, num_layers=2, lr_multiplier=lr_multiplier
    )
    params = mapping.init(key(4), z)['params']
    loss = lambda p: jnp.sum(jnp.square(mapping.apply({'params': p}, z) - 1.0))
    optimizer = optax.adam(1e-3)
    updates, _ = optimizer.update(jax.grad(loss)(params), optimizer.init(params))
    moved = optax.apply_updates(params, updates)
    scale = math.sqrt(2) * lr_multiplier / math.sqrt(16)  # Both layers have fan-in 16.
    return {
      name: np.abs(np.asarray(moved[name]['kernel'] - params[name]['kernel'])) * scale
      for name in params
    }, {name: np.asarray(params[name]['kernel']) * scale for name in params}

  slow, slow_init = effective_step(0.01)
  fast, fast_init = effective_step(1.0)
  for name in fast:
    # Adam's first step moves each stored weight by ~lr whatever the gradient's
    # scale, so the effective step is lr times the runtime scale.
    ratio = fast[name].mean() / slow[name].mean()
    assert 99.0 < ratio < 101.0, (name, ratio)
    # The same effective weights at initialisation: N(0, 2 / fan_in) either way.
    for init in (slow_init, fast_init):
      assert abs(init[name].std() / math.sqrt(2 / 16) - 1.0) < 0.15


# ---------------------------------------------------------------------------
# AdaIN and demodulation.


def test_adain_layer_against_hand_computation():
  layer = networks.AdaINLayer(4, layer_index=0, conv=False)
  rng = np.random.default_rng(5)
  x = rng.normal(2.0, 3.0, size=(2, 4, 4, 4)).astype(np.float32)
  w = rng.normal(size=(2, W_DIM)).astype(np.float32)
  variables = random_like(shapes(layer, x, w, None)[1], 6)
  params = variables['params']
  y = np.asarray(jax.jit(lambda v: layer.apply(v, x, w, None))(variables), np.float64)

  h = x + params['bias']
  h = np.where(h >= 0, h, 0.2 * h)
  mean = h.mean(axis=(1, 2), keepdims=True)
  var = h.var(axis=(1, 2), keepdims=True)
  normalised = (h - mean) / np.sqrt(var + 1e-8)  # Per sample and channel.
  style = w @ (params['style']['kernel'] / math.sqrt(W_DIM)) + params['style']['bias']  # Gain 1.
  scale, bias = style[:, None, None, :4], style[:, None, None, 4:]
  np.testing.assert_allclose(y, normalised * (scale + 1.0) + bias, rtol=1e-4, atol=1e-4)


def test_demodulation_gives_unit_variance():
  rng = np.random.default_rng(7)
  batch, size, cin, cout = 8, 32, 32, 16
  x = rng.normal(size=(batch, size, size, cin)).astype(np.float32)
  weight = rng.normal(size=(3, 3, cin, cout)).astype(np.float32)
  # Styles spread over a factor of 30, differently per sample.
  styles = rng.uniform(0.1, 3.0, size=(batch, cin)).astype(np.float32)
  conv = jax.jit(
    lambda demodulate: networks.modulated_conv2d(x, weight, styles, demodulate=demodulate),
    static_argnums=0,
  )
  # Interior positions only (zero padding lowers the border's variance).
  demodulated = np.asarray(conv(True), np.float64)[:, 1:-1, 1:-1]
  # Each output is a unit-norm combination of unit-variance inputs: variance
  # 1 exactly. Its estimate over 8 x 30 x 30 = 7,200 correlated outputs (each
  # shares inputs with 24 neighbours; at worst 7,200 / 25 = 288 independent
  # ones) has a relative standard deviation of at most sqrt(2 / 288) = 0.083:
  # 0.3 is over 3.5 of them for any one channel.
  variance = demodulated.var(axis=(0, 1, 2))
  np.testing.assert_allclose(variance, 1.0, atol=0.3)
  np.testing.assert_allclose(variance.mean(), 1.0, atol=0.1)
  # Without demodulation the variance is sum (w s)^2, about 9 * 32 * 3 ~ 280.
  plain = np.asarray(conv(False), np.float64)[:, 1:-1, 1:-1].var(axis=(0, 1, 2))
  assert plain.min() > 50.0


@pytest.mark.parametrize('up', [False, True])
def test_modulated_conv_equals_per_sample_weights(up):
  """The non-fused computation against a per-sample conv with w * s / d, as the reference's fused one."""
  rng = np.random.default_rng(8)
  x = rng.normal(size=(2, 5, 5, 3)).astype(np.float32)
  weight = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
  styles = rng.uniform(0.5, 2.0, size=(2, 3)).astype(np.float32)
  y = networks.modulated_conv2d(x, weight, styles, up=up, conv_implementation='fast')
  dn = ('NHWC', 'HWIO', 'NHWC')
  for b in range(2):
    w = weight * styles[b][None, None, :, None]
    w = w / np.sqrt(np.sum(w**2, axis=(0, 1, 2)) + 1e-8)
    if up:
      # The reference: zero-insert, full transposed conv (2H + 1), then
      # upfirdn2d with outer([1, 3, 3, 1]) / 16 (gain 4) and padding 1.
      t = jax.lax.conv_general_dilated(
        x[b : b + 1],
        w[::-1, ::-1],
        (1, 1),
        ((2, 2), (2, 2)),
        lhs_dilation=(2, 2),
        dimension_numbers=dn,
      )
      f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32) / 16.0
      f = np.tile(f[:, :, None, None], (1, 1, 1, 4))
      expected = jax.lax.conv_general_dilated(
        t, f, (1, 1), ((1, 1), (1, 1)), dimension_numbers=dn, feature_group_count=4
      )
    else:
      expected = jax.lax.conv_general_dilated(
        x[b : b + 1], w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=dn
      )
    np.testing.assert_allclose(y[b : b + 1], expected, rtol=1e-4, atol=1e-4)
  chex.assert_shape(y, (2, 10, 10, 4) if up else (2, 5, 5, 4))


# ---------------------------------------------------------------------------
# Noise.


@pytest.mark.parametrize('style', ['adain', 'modulated'])
def test_noise_starts_off_and_is_per_example(style):
  synthesis = networks.SynthesisNetwork(8, channels=3, style=style, **TINY)
  ws = np.random.default_rng(9).normal(size=(2, synthesis.num_ws, W_DIM)).astype(np.float32)
  # Examples 2 and 3 repeat 0 and 1, with example 3's key changed.
  ws = np.concatenate([ws, ws])
  variables = jax.jit(synthesis.init)(key(0), ws)
  flat = traverse_util.flatten_dict(variables['params'])
  noise_params = {path: p for path, p in flat.items() if path[-1].startswith('noise_')}
  # One per conv layer: all of StyleGAN's, all but the toRGB's w in StyleGAN2.
  assert len(noise_params) == synthesis.num_ws - (1 if style == 'modulated' else 0)
  for p in noise_params.values():
    np.testing.assert_array_equal(p, 0.0)
  noisy = dict(flat)
  noisy.update({path: jnp.full_like(p, 0.5) for path, p in noise_params.items()})
  noisy = {'params': traverse_util.unflatten_dict(noisy)}

  @jax.jit
  def run(variables, noisy):
    # Threefry keys: draw_noise refuses RBG keys (see test_noise_is_drawn_per_key_and_layer).
    # Each apply with keys compiles its layers' threefry draws (seconds), hence
    # one batch holding both key sets.
    keys = jax.random.split(jax.random.key(10), 2)
    keys = jnp.concatenate([keys, keys.at[1].set(jax.random.key(11))])
    apply = lambda v, k: synthesis.apply(v, ws, k)
    return apply(variables, None), apply(variables, keys), apply(noisy, keys)

  silent, initial, noisy_out = run(variables, noisy)
  # Zero strengths: keys do not matter.
  np.testing.assert_allclose(initial, silent, atol=1e-5)
  # Nonzero strengths: an example depends on its own key only, not on the
  # batch around it or its position in it.
  assert np.abs(np.asarray(noisy_out - silent)).max() > 1e-2
  np.testing.assert_allclose(noisy_out[2], noisy_out[0], atol=1e-5)
  assert np.abs(np.asarray(noisy_out[3] - noisy_out[1])).max() > 1e-2


def test_noise_is_drawn_per_key_and_layer():
  keys = jax.random.split(jax.random.key(12), 3)
  # One jitted call: each draw compiles threefry, which is slow on XLA:CPU.
  a, alone, other_layer = jax.jit(
    lambda keys: (
      networks.draw_noise(keys, 0, (4, 4)),
      networks.draw_noise(keys[1:2], 0, (4, 4)),
      networks.draw_noise(keys, 1, (4, 4)),
    )
  )(keys)
  chex.assert_shape(a, (3, 4, 4, 1))
  # Example 1 alone gives the same noise as within the batch.
  np.testing.assert_array_equal(alone[0], a[1])
  assert not np.allclose(other_layer, a)
  assert networks.draw_noise(None, 0, (4, 4)) is None
  # RBG keys draw for the batch as a whole under vmap: refused.
  with pytest.raises(ValueError, match='unsafe_rbg keys'):
    networks.draw_noise(jax.random.split(key(12), 3), 0, (4, 4))


# ---------------------------------------------------------------------------
# Style helpers.


def test_broadcast_truncate_and_mix():
  rng = np.random.default_rng(13)
  w = rng.normal(size=(3, 5)).astype(np.float32)
  ws = networks.broadcast_ws(w, 4)
  chex.assert_shape(ws, (3, 4, 5))
  np.testing.assert_array_equal(ws[:, 2], w)
  ws = rng.normal(size=(3, 4, 5)).astype(np.float32)
  w_avg = rng.normal(size=(5,)).astype(np.float32)
  np.testing.assert_allclose(networks.truncate(ws, w_avg, 1.0), ws, atol=1e-6)
  np.testing.assert_allclose(networks.truncate(ws, w_avg, 0.0), np.broadcast_to(w_avg, ws.shape))
  half = networks.truncate(ws, w_avg, 0.5, cutoff=2)
  np.testing.assert_allclose(half[:, :2], (ws[:, :2] + w_avg) / 2, atol=1e-6)
  np.testing.assert_array_equal(half[:, 2:], ws[:, 2:])  # From the cutoff on: unchanged.
  zero = networks.truncate(ws, w_avg, 0.0, cutoff=3)
  np.testing.assert_allclose(zero[:, :3], np.broadcast_to(w_avg, (3, 3, 5)))

  other = rng.normal(size=(3, 4, 5)).astype(np.float32)
  mixed = networks.mix_styles(ws, other, jnp.array([0, 2, 4]))
  np.testing.assert_array_equal(mixed[0], other[0])  # Crossover 0: all other.
  np.testing.assert_array_equal(mixed[1, :2], ws[1, :2])
  np.testing.assert_array_equal(mixed[1, 2:], other[1, 2:])
  np.testing.assert_array_equal(mixed[2], ws[2])  # Crossover num_ws: none.


# ---------------------------------------------------------------------------
# Filters.


def test_fir_upsampling_of_an_impulse():
  x = np.zeros((1, 4, 4, 1), np.float32)
  x[0, 1, 2, 0] = 1.0
  y = np.asarray(networks.upsample2d(x))[0, :, :, 0]
  expected = np.zeros((8, 8))
  # Pixel (m, n) spreads [1, 3, 3, 1] / 4 over rows 2m - 1 .. 2m + 2 (and columns).
  expected[1:5, 3:7] = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 16.0
  np.testing.assert_allclose(y, expected, atol=1e-7)


def test_filters_keep_constant_images_constant():
  x = np.full((1, 8, 8, 2), 0.7, np.float32)
  up = np.asarray(networks.upsample2d(x))
  chex.assert_shape(up, (1, 16, 16, 2))
  np.testing.assert_allclose(up[:, 1:-1, 1:-1], 0.7, rtol=1e-6)
  # The reference pads with zeros: the border rows get 3/4 of the value.
  np.testing.assert_allclose(up[:, 0, 1:-1], 0.7 * 0.75, rtol=1e-6)
  down = np.asarray(networks.downsample2d(x))
  chex.assert_shape(down, (1, 4, 4, 2))
  np.testing.assert_allclose(down[:, 1:-1, 1:-1], 0.7, rtol=1e-6)
  np.testing.assert_allclose(down[:, 0, 1:-1], 0.7 * 7 / 8, rtol=1e-6)  # x[-1] = 0.
  blurred = np.asarray(networks.blur2d(x))
  chex.assert_shape(blurred, x.shape)
  np.testing.assert_allclose(blurred[:, 1:-1, 1:-1], 0.7, rtol=1e-6)
  np.testing.assert_allclose(blurred[:, 0, 1:-1], 0.7 * 3 / 4, rtol=1e-6)
  np.testing.assert_allclose(networks.downsample_box2d(x), 0.7, rtol=1e-6)
  np.testing.assert_allclose(networks.upsample_nearest2d(x), np.full((1, 16, 16, 2), 0.7))


def test_blur_and_downsampling_by_hand():
  x = np.zeros((1, 5, 5, 1), np.float32)
  x[0, 2, 2, 0] = 16.0
  np.testing.assert_allclose(
    networks.blur2d(x)[0, 1:4, 1:4, 0], np.outer([1, 2, 1], [1, 2, 1]), atol=1e-6
  )
  x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
  np.testing.assert_allclose(
    networks.downsample_box2d(x)[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]], atol=1e-6
  )
  # Rows only (x constant along W away from the border): out[m] = (x[2m - 1]
  # + 3 x[2m] + 3 x[2m + 1] + x[2m + 2]) / 8; row m = 1 of rows 0..7: (1 + 6 + 9 + 4) / 8.
  rows = np.broadcast_to(np.arange(8, dtype=np.float32)[None, :, None, None], (1, 8, 8, 1))
  np.testing.assert_allclose(networks.downsample2d(rows)[0, 1, 1, 0], 20 / 8, rtol=1e-6)


# ---------------------------------------------------------------------------
# Minibatch standard deviation.


def test_minibatch_stddev_by_hand():
  # Groups take samples j, j + M, ...: with N = 4 and G = 2, {0, 2} and {1, 3}.
  x = np.zeros((4, 1, 1, 2), np.float32)
  x[:, 0, 0, 0] = [0.0, 10.0, 2.0, 10.0]  # Group {0, 2}: std 1; group {1, 3}: 0.
  x[:, 0, 0, 1] = [1.0, 0.0, 5.0, 6.0]  # Group {0, 2}: std 2; group {1, 3}: 3.
  out = np.asarray(networks.minibatch_stddev(x, group_size=2))
  chex.assert_shape(out, (4, 1, 1, 3))
  eps = 1e-8
  group_02 = (math.sqrt(1 + eps) + math.sqrt(4 + eps)) / 2
  group_13 = (math.sqrt(0 + eps) + math.sqrt(9 + eps)) / 2
  np.testing.assert_allclose(out[:, 0, 0, 2], [group_02, group_13, group_02, group_13], rtol=1e-6)
  np.testing.assert_array_equal(out[..., :2], x)
  # Two features: one per half of the channels.
  out = np.asarray(networks.minibatch_stddev(x, group_size=2, num_features=2))
  np.testing.assert_allclose(out[:, 0, 0, 2], [1.0, 1e-4, 1.0, 1e-4], rtol=1e-5)
  np.testing.assert_allclose(out[:, 0, 0, 3], [2.0, 3.0, 2.0, 3.0], rtol=1e-6)


def test_minibatch_stddev_is_remedies_with_strided_groups():
  x = np.random.default_rng(14).normal(size=(8, 4, 4, 3)).astype(np.float32)
  ours = networks.minibatch_stddev(x, group_size=4)
  # Reorder so that NVlabs' strided groups {j, j + 2, j + 4, j + 6} are consecutive.
  order = np.arange(8).reshape(4, 2).T.reshape(-1)
  theirs = np.asarray(remedies.minibatch_stddev(x[order], group_size=4))[np.argsort(order)]
  np.testing.assert_allclose(ours, theirs, rtol=1e-5)
  with pytest.raises(ValueError, match='must divide the batch'):
    networks.minibatch_stddev(x[:6], group_size=4)


# ---------------------------------------------------------------------------
# Precision (`dtype`).


def conv_output_dtypes(fun, *args):
  """The output dtype of every convolution in fun's jaxpr (nested jaxprs included), in order."""
  lines = str(jax.make_jaxpr(fun)(*args)).splitlines()
  # A convolution's line reads `name:dtype[shape] = conv_general_dilated[...] lhs rhs`.
  return [line.split(':')[1].split('[')[0] for line in lines if '= conv_general_dilated' in line]


def relative_rms_difference(a, b):
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return np.sqrt(np.mean((a - b) ** 2) / np.mean(b**2))


@pytest.mark.parametrize('style', ['adain', 'modulated'])
def test_bfloat16_synthesis_convolves_in_bfloat16_and_keeps_params_and_image_float32(style):
  make = lambda dtype: networks.SynthesisNetwork(
    16, channels=3, style=style, architecture='skip', dtype=dtype, **TINY
  )
  rng = np.random.default_rng(3)
  ws = rng.normal(size=(4, 6, W_DIM)).astype(np.float32)
  _, variables = shapes(make(jnp.float32), ws)
  _, bf16_variables = shapes(make(jnp.bfloat16), ws)
  # The same parameters, all float32: a checkpoint does not depend on dtype.
  assert jax.tree.map(lambda v: (v.shape, v.dtype), bf16_variables) == jax.tree.map(
    lambda v: (v.shape, v.dtype), variables
  )
  assert {v.dtype for v in jax.tree.leaves(variables)} == {jnp.dtype(jnp.float32)}
  variables = random_like(variables, 4, scale=0.5)
  apply = {
    name: lambda v, ws, module=make(dtype): module.apply(v, ws)
    for name, dtype in (('f32', jnp.float32), ('bf16', jnp.bfloat16))
  }
  assert set(conv_output_dtypes(apply['f32'], variables, ws)) == {'f32'}
  assert set(conv_output_dtypes(apply['bf16'], variables, ws)) == {'bf16'}
  images = {name: jax.jit(fun)(variables, ws) for name, fun in apply.items()}
  assert images['bf16'].dtype == jnp.float32
  # bfloat16 keeps 8 bits of mantissa (rounding error 2**-9 = 0.2% a value):
  # over the layers the image moves by a few percent, no more.
  difference = relative_rms_difference(images['bf16'], images['f32'])
  assert 1e-4 < difference < 0.05, difference


@pytest.mark.parametrize('architecture', ['orig', 'resnet'])
def test_bfloat16_discriminator_convolves_in_bfloat16_above_4x4(architecture):
  make = lambda dtype: networks.Discriminator(
    16, channels=3, architecture=architecture, dtype=dtype, **TINY
  )
  images = np.random.default_rng(5).uniform(-1, 1, size=(4, 16, 16, 3)).astype(np.float32)
  variables = random_like(shapes(make(jnp.float32), images)[1], 6)
  apply = {
    name: lambda v, x, module=make(dtype): module.apply(v, x)
    for name, dtype in (('f32', jnp.float32), ('bf16', jnp.bfloat16))
  }
  # fromRGB and two convs at 16 and at 8 (and 'resnet's two 1x1 skips) in
  # bfloat16, the 4x4 epilogue's conv in float32.
  above_4x4 = 5 if architecture == 'orig' else 7
  assert conv_output_dtypes(apply['bf16'], variables, images) == ['bf16'] * above_4x4 + ['f32']
  assert set(conv_output_dtypes(apply['f32'], variables, images)) == {'f32'}
  logits = {name: jax.jit(fun)(variables, images) for name, fun in apply.items()}
  assert logits['bf16'].dtype == jnp.float32
  difference = relative_rms_difference(logits['bf16'], logits['f32'])
  assert 1e-4 < difference < 0.05, difference


def test_bfloat16_demodulation_still_gives_unit_variance():
  # bfloat16 activations with float32 styles and weight, as a layer passes
  # them: the conv runs in bfloat16, the demodulation's sums of squares in
  # float32, and the outputs keep unit variance, as in float32.
  rng = np.random.default_rng(7)
  x = rng.normal(size=(8, 32, 32, 32)).astype(jnp.bfloat16)
  weight = rng.normal(size=(3, 3, 32, 16)).astype(np.float32)
  styles = rng.uniform(0.1, 3.0, size=(8, 32)).astype(np.float32)
  y = jax.jit(networks.modulated_conv2d)(x, weight, styles)
  assert y.dtype == jnp.bfloat16
  variance = np.asarray(y, np.float64)[:, 1:-1, 1:-1].var(axis=(0, 1, 2))
  np.testing.assert_allclose(variance, 1.0, atol=0.3)  # As test_demodulation_gives_unit_variance.
  np.testing.assert_allclose(variance.mean(), 1.0, atol=0.1)
