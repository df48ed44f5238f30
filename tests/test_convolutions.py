"""Tests of jaxgan.nn.convolutions: the fast convolutions equal the plain XLA ones."""

import importlib
import re

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from jax import lax

from jaxgan.nn import convolutions

_DN = ('NHWC', 'HWIO', 'NHWC')
_TOL = dict(rtol=1e-5, atol=1e-4)

# (name, height, width, kernel, stride, padding): the DCGAN geometries
# (28 -> 14 -> 7, 64 -> 32 -> 16 -> 8 -> 4 -> 1) plus odd and ragged ones,
# where (H + 2p - k) % s != 0 leaves padded rows that no window reaches.
_CONV_CASES = (
  ('k4s2p1_28', 28, 28, 4, 2, 1),
  ('k4s2p1_14', 14, 14, 4, 2, 1),
  ('k4s2p1_7_odd', 7, 7, 4, 2, 1),
  ('k4s2p1_64', 64, 64, 4, 2, 1),
  ('k4s2p1_8', 8, 8, 4, 2, 1),
  ('k4s1p0_4_to_1', 4, 4, 4, 1, 0),
  ('k3s1p1_7', 7, 7, 3, 1, 1),
  ('k3s1p1_28', 28, 28, 3, 1, 1),
  ('k3s2p1_7', 7, 7, 3, 2, 1),
  ('k3s2p0_8', 8, 8, 3, 2, 0),
  ('k4s2p0_7_ragged', 7, 9, 4, 2, 0),
  ('k3s1p0_5x6', 5, 6, 3, 1, 0),
  ('k4s1p1_6', 6, 6, 4, 1, 1),
  # PatchGAN's last two layers on 32x32 images: a window larger than the map.
  ('k4s1p1_4', 4, 4, 4, 1, 1),
  ('k4s1p1_3', 3, 3, 4, 1, 1),
)

# (name, height, width, kernel, input channels, output channels, padding) of
# stride-1 convolutions computed on 2x2 pixel blocks: CycleGAN's 7x7 layers
# between an image and its features (on reflection-padded 32x32 inputs, so
# padding 0), odd sides, a map smaller than the kernel, a 5x5 and a 6x6
# kernel, and paddings that leave a partial last block.
_BLOCKED_CASES = (
  ('k7p0_38_gray_to_16', 38, 38, 7, 1, 16, 0),
  ('k7p0_38_16_to_rgb', 38, 38, 7, 16, 3, 0),
  ('k7p3_9x11', 9, 11, 7, 3, 5, 3),
  ('k7p3_3x3', 3, 3, 7, 3, 5, 3),
  ('k5p2_7x6', 7, 6, 5, 4, 8, 2),
  ('k5p0_8x7', 8, 7, 5, 6, 2, 0),
  ('k6p1_9', 9, 9, 6, 3, 5, 1),
)

# (name, height, width, kernel, stride, padding) of the transposed conv's input.
_CONV_T_CASES = (
  ('k4s2p1_7_to_14', 7, 7, 4, 2, 1),
  ('k4s2p1_14_to_28', 14, 14, 4, 2, 1),
  ('k4s2p1_4_to_8', 4, 4, 4, 2, 1),
  ('k4s2p1_32_to_64', 32, 32, 4, 2, 1),
  ('k4s1p0_1_to_4', 1, 1, 4, 1, 0),
  ('k3s1p1_7', 7, 7, 3, 1, 1),
  ('k3s2p1_5x6', 5, 6, 3, 2, 1),
  ('k4s2p0_3', 3, 3, 4, 2, 0),
  ('k3s2p0_4', 4, 4, 3, 2, 0),
)

# (name, height, width, kernel, stride, padding, output_padding): CycleGAN's
# k3 s2 p1 op1 upsampling (exactly doubles; the extra row is one that padding
# would crop), a kernel that is no multiple of the stride (k4 s3 op2), and p0,
# where the extra row lies past every tap and stays zero.
_CONV_T_OUTPUT_PADDING_CASES = (
  ('k3s2p1op1_3x5', 3, 5, 3, 2, 1, 1),
  ('k4s2p1op1_4', 4, 4, 4, 2, 1, 1),
  ('k4s3p1op2_3x4', 3, 4, 4, 3, 1, 2),
  ('k3s2p0op1_4', 4, 4, 3, 2, 0, 1),
)


# float64 for a reference value; jax 0.7.2 (Colab's) has it only as experimental.
if hasattr(jax, 'enable_x64'):
  _enable_x64 = jax.enable_x64
else:
  _enable_x64 = importlib.import_module('jax.experimental').enable_x64


def _random(seed, shape):
  # NumPy, not jax.random: eager jax.random compiles a kernel per shape, which
  # would dominate this file's run time.
  return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _plain_conv(x, kernel, stride, padding):
  return lax.conv_general_dilated(
    x, kernel, (stride, stride), [(padding, padding)] * 2, dimension_numbers=_DN
  )


def _adjoint_definition(y, kernel, stride, padding, output_padding=0):
  """conv_transpose2d by definition: the vjp in x of conv2d with the I/O-swapped kernel.

  output_padding makes x that much larger at the high end; conv2d of it has
  y's size all the same, since output_padding < stride.
  """
  k = kernel.shape[0]
  out = [(n - 1) * stride - 2 * padding + k + output_padding for n in y.shape[1:3]]
  x = jnp.zeros((y.shape[0], *out, kernel.shape[3]), y.dtype)
  swapped = jnp.swapaxes(kernel, 2, 3)
  _, vjp = jax.vjp(lambda x: _plain_conv(x, swapped, stride, padding), x)
  return vjp(y)[0]


def _flax_conv_transpose(y, kernel, stride, padding, output_padding=0):
  """Flax's own layer with the settings equivalent to PyTorch ConvTranspose2d.

  Flax pads the stride-dilated input, so PyTorch's padding p is k - 1 - p on
  each side, and output_padding is more of it on the high side;
  transpose_kernel=True makes Flax's kernel the I/O-swapped kernel of the
  forward conv whose gradient this is: (k, k, out, in).
  """
  k = kernel.shape[0]
  module = nn.ConvTranspose(
    kernel.shape[3],
    (k, k),
    strides=(stride, stride),
    padding=[(k - 1 - padding, k - 1 - padding + output_padding)] * 2,
    transpose_kernel=True,
    use_bias=False,
  )
  return module.apply({'params': {'kernel': jnp.swapaxes(kernel, 2, 3)}}, y)


def _values_and_grads(fns, x, kernel):
  """Each fn's value and vjp in (x, kernel) along one random cotangent, in one jit."""
  shape = jax.eval_shape(fns[0], x, kernel).shape
  cotangent = _random(99, shape)

  @jax.jit  # One compilation for all fns: compiling dominates these tests.
  def run(x, kernel):
    results = []
    for fn in fns:
      y, vjp = jax.vjp(fn, x, kernel)
      results.append((y, *vjp(cotangent)))
    return results

  return run(x, kernel)


def _conv_lines(fn, *args):
  text = jax.jit(fn).lower(*args).as_text()
  return [line for line in text.splitlines() if 'stablehlo.convolution' in line]


class ConvFunctionsTest(parameterized.TestCase):
  @parameterized.named_parameters(*_CONV_CASES)
  def test_conv2d_equals_plain_conv(self, height, width, k, stride, padding):
    x, kernel = _random(0, (2, height, width, 3)), _random(1, (k, k, 3, 5))
    fast, plain = _values_and_grads(
      [
        lambda x, w: convolutions.conv2d(x, w, stride=stride, padding=padding),
        lambda x, w: _plain_conv(x, w, stride, padding),
      ],
      x,
      kernel,
    )
    expected_size = [(n + 2 * padding - k) // stride + 1 for n in (height, width)]
    chex.assert_shape(fast[0], (2, *expected_size, 5))
    chex.assert_trees_all_close(fast, plain, **_TOL)

  @parameterized.named_parameters(*_BLOCKED_CASES)
  def test_a_large_kernel_on_few_channels_runs_on_blocks_and_equals_plain_conv(
    self, height, width, k, cin, cout, padding
  ):
    x, kernel = _random(20, (2, height, width, cin)), _random(21, (k, k, cin, cout))
    conv = lambda x, w: convolutions.conv2d(x, w, stride=1, padding=padding)
    # Its only convolution is on 2x2 blocks: four times the channels on each
    # side, a kernel of ceil((k + 1) / 2) taps.
    taps = (k + 2) // 2
    (line,) = _conv_lines(conv, x, kernel)
    self.assertIn(f'tensor<{taps}x{taps}x{4 * cin}x{4 * cout}xf32>', line)
    fast, plain = _values_and_grads([conv, lambda x, w: _plain_conv(x, w, 1, padding)], x, kernel)
    expected_size = [n + 2 * padding - k + 1 for n in (height, width)]
    chex.assert_shape(fast[0], (2, *expected_size, cout))
    chex.assert_trees_all_close(fast, plain, **_TOL)

  @parameterized.named_parameters(
    ('more_channels', 7, 1, 5, 5),
    ('small_kernel', 3, 1, 3, 5),
    ('strided', 7, 2, 3, 5),
  )
  def test_other_convolutions_run_as_they_are(self, k, stride, cin, cout):
    x, kernel = _random(22, (2, 16, 16, cin)), _random(23, (k, k, cin, cout))
    conv = lambda x, w: convolutions.conv2d(x, w, stride=stride, padding=1)
    (line,) = _conv_lines(conv, x, kernel)
    self.assertIn(f'tensor<{k}x{k}x{cin}x{cout}xf32>', line)

  def test_second_order_gradient_through_blocks_equals_plain(self):
    # A gradient penalty on a D whose first layer is a 7x7 conv of an image.
    x, kernel = _random(24, (2, 9, 9, 3)), _random(25, (7, 7, 3, 6))

    def penalty(conv):
      def critic(x, w):
        return jnp.sum(jnp.tanh(conv(x, w, stride=1, padding=3)) ** 2)

      return jax.jit(jax.grad(lambda x, w: jnp.sum(jax.grad(critic)(x, w) ** 2), (0, 1)))

    fast = penalty(convolutions.conv2d)
    # Compared with the plain convolution's values in float64: in float32
    # the plain convolution itself is 1.0e-5 of the largest value off them
    # (the blocked one 0.5e-5), so float32 against float32 differed by 1.1e-5
    # on an AVX-512 EPYC (2026-12-07), past the 1e-5 this test allowed them
    # when it passed on AVX2-only ones.
    with _enable_x64():
      exact = penalty(convolutions.xla_conv2d)(*(np.asarray(a, np.float64) for a in (x, kernel)))
      exact = [np.asarray(a) for a in exact]
    for a, b in zip(fast(x, kernel), exact):
      self.assertEqual(b.dtype, np.float64)
      np.testing.assert_allclose(a, b, atol=2e-5 * np.max(np.abs(b)))
    lines = _conv_lines(fast, x, kernel)
    self.assertNotEmpty(lines)
    for line in lines:  # All on blocks (3 and 6 channels become 12 and 24), all canonical.
      self.assertRegex(line, r'x(12|24)xf32>')
      self.assertIn('[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]', line)
      self.assertIn('lhs_dilate = [1, 1]', line)

  @parameterized.named_parameters(*_CONV_T_CASES)
  def test_conv_transpose2d_equals_adjoint_and_flax(self, height, width, k, stride, padding):
    y, kernel = _random(2, (2, height, width, 5)), _random(3, (k, k, 5, 3))
    fast, definition, flax_layer = _values_and_grads(
      [
        lambda y, w: convolutions.conv_transpose2d(y, w, stride=stride, padding=padding),
        lambda y, w: _adjoint_definition(y, w, stride, padding),
        lambda y, w: _flax_conv_transpose(y, w, stride, padding),
      ],
      y,
      kernel,
    )
    expected_size = [(n - 1) * stride - 2 * padding + k for n in (height, width)]
    chex.assert_shape(fast[0], (2, *expected_size, 3))
    chex.assert_trees_all_close(fast, definition, **_TOL)
    chex.assert_trees_all_close(fast, flax_layer, **_TOL)

  @parameterized.named_parameters(*_CONV_T_OUTPUT_PADDING_CASES)
  def test_output_padding_equals_adjoint_xla_and_flax(
    self, height, width, k, stride, padding, output_padding
  ):
    y, kernel = _random(10, (2, height, width, 5)), _random(11, (k, k, 5, 3))
    options = {'stride': stride, 'padding': padding, 'output_padding': output_padding}
    fast, xla, definition, flax_layer = _values_and_grads(
      [
        lambda y, w: convolutions.conv_transpose2d(y, w, **options),
        lambda y, w: convolutions.xla_conv_transpose2d(y, w, **options),
        lambda y, w: _adjoint_definition(y, w, **options),
        lambda y, w: _flax_conv_transpose(y, w, **options),
      ],
      y,
      kernel,
    )
    expected_size = [(n - 1) * stride - 2 * padding + k + output_padding for n in (height, width)]
    chex.assert_shape(fast[0], (2, *expected_size, 3))
    chex.assert_trees_all_close(fast, xla, **_TOL)
    chex.assert_trees_all_close(fast, definition, **_TOL)
    chex.assert_trees_all_close(fast, flax_layer, **_TOL)

  def test_output_padding_sizes(self):
    # CycleGAN's upsampling: (H - 1) * 2 - 2 * 1 + 3 + 1 = 2H.
    kernel = jnp.ones((3, 3, 4, 2))
    for fn in (convolutions.conv_transpose2d, convolutions.xla_conv_transpose2d):
      up = lambda y, fn=fn: fn(y, kernel, stride=2, padding=1, output_padding=1)
      chex.assert_shape(jax.eval_shape(up, jnp.ones((1, 64, 64, 4))), (1, 128, 128, 2))
      chex.assert_shape(jax.eval_shape(up, jnp.ones((1, 3, 3, 4))), (1, 6, 6, 2))
      no_extra = lambda y, fn=fn: fn(y, kernel, stride=2, padding=1)
      chex.assert_shape(jax.eval_shape(no_extra, jnp.ones((1, 3, 3, 4))), (1, 5, 5, 2))

  def test_output_padding_known_answer(self):
    # PyTorch scatters y[i, j] * K into rows 2i..2i+2 of a 5x5 full output,
    # crops padding=1 on each side, and output_padding=1 keeps one more row
    # and column at the bottom and right, where the second tap lands:
    #   full = [[1, 2,  3,  0,  0],      cropped to rows/cols 1..4:
    #           [4, 5,  6,  0,  0],      [[5,  6,  0,  0],
    #           [7, 8, 11,  4,  6],       [8, 11,  4,  6],
    #           [0, 0,  8, 10, 12],       [0,  8, 10, 12],
    #           [0, 0, 14, 16, 18]]       [0, 14, 16, 18]]
    y = jnp.array([[1.0, 0.0], [0.0, 2.0]]).reshape(1, 2, 2, 1)
    kernel = jnp.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    expected = np.array(
      [[5, 6, 0, 0], [8, 11, 4, 6], [0, 8, 10, 12], [0, 14, 16, 18]], np.float32
    ).reshape(1, 4, 4, 1)
    options = {'stride': 2, 'padding': 1, 'output_padding': 1}
    for fn in (
      convolutions.conv_transpose2d,
      convolutions.xla_conv_transpose2d,
      _adjoint_definition,  # The vjp of conv2d from a 4x4 input.
    ):
      # Jitted: one compilation instead of one per operation.
      result = jax.jit(lambda y, w, fn=fn: fn(y, w, **options))(y, kernel)
      np.testing.assert_allclose(result, expected, atol=1e-6)

  def test_output_padding_must_be_below_stride(self):
    y, kernel = jnp.ones((1, 3, 3, 1)), jnp.ones((3, 3, 1, 1))
    for fn in (convolutions.conv_transpose2d, convolutions.xla_conv_transpose2d):
      for stride, output_padding in ((2, 2), (1, 1), (2, -1)):
        with pytest.raises(ValueError, match=r'output_padding must be in \[0, stride\)'):
          fn(y, kernel, stride=stride, padding=1, output_padding=output_padding)

  def test_all_convolutions_canonical_to_second_order(self):
    x, kernel = _random(4, (2, 7, 7, 3)), _random(5, (4, 4, 3, 5))

    def model(x, w):  # Down then up, as in D(G(z)).
      h = convolutions.conv2d(x, w, stride=2, padding=1)
      return jnp.sum(
        convolutions.conv_transpose2d(h, jnp.swapaxes(w, 2, 3), stride=2, padding=1) ** 2
      )

    def penalty(x, w):  # A gradient penalty: differentiated twice below.
      return jnp.sum(jax.grad(model)(x, w) ** 2)

    lines = _conv_lines(jax.grad(penalty, argnums=(0, 1)), x, kernel)
    self.assertNotEmpty(lines)
    for line in lines:
      self.assertIn('[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]', line)
      self.assertIn('lhs_dilate = [1, 1]', line)

  def test_a_window_larger_than_the_map_is_not_swapped_into_a_reversed_one(self):
    # The input gradient of a stride-1 4x4 convolution of a 4x4 map is a
    # convolution of the 3x3 dy by the 4x4 kernel: XLA swaps such operands
    # (a reversed window, on XLA:CPU's slow emitter) unless the input is
    # padded beforehand. Checked in the compiled program, after XLA's passes.
    x, kernel = _random(6, (2, 4, 4, 8)), _random(7, (4, 4, 8, 16))

    def loss(x, w):
      return jnp.sum(jnp.sin(convolutions.conv2d(x, w, stride=1, padding=1)))

    compiled = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(x, kernel).compile().as_text()
    lines = [line for line in compiled.splitlines() if ' convolution(' in line]
    self.assertLen(lines, 3)  # Forward, input gradient, kernel gradient.
    for line in lines:
      self.assertIn('dim_labels=b01f_01io->b01f', line)
      self.assertNotIn('rhs_reversal', line)

  def test_second_order_gradient_equals_plain(self):
    x, kernel = _random(6, (2, 7, 7, 3)), _random(7, (4, 4, 3, 5))

    def penalty(conv, conv_t):
      def model(x, w):
        h = jnp.tanh(conv(x, w, stride=2, padding=1))
        return jnp.sum(conv_t(h, jnp.swapaxes(w, 2, 3), stride=2, padding=1) ** 2)

      return jax.jit(jax.grad(lambda x, w: jnp.sum(jax.grad(model)(x, w) ** 2), (0, 1)))

    fast = penalty(convolutions.conv2d, convolutions.conv_transpose2d)(x, kernel)
    plain = penalty(convolutions.xla_conv2d, convolutions.xla_conv_transpose2d)(x, kernel)
    for a, b in zip(fast, plain):  # Entries reach 1e5 and cancel: compare to the scale.
      np.testing.assert_allclose(a, b, atol=1e-5 * float(jnp.max(jnp.abs(b))))


class ModulesTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('conv_k4s2p1', convolutions.Conv, 14, 4, 2, 1),
    ('conv_k3s1p1', convolutions.Conv, 7, 3, 1, 1),
    ('conv_t_k4s2p1', convolutions.ConvTranspose, 7, 4, 2, 1),
    ('conv_t_k4s1p0', convolutions.ConvTranspose, 1, 4, 1, 0),
  )
  def test_fast_and_xla_agree(self, cls, size, k, stride, padding):
    x = _random(8, (2, size, size, 3))
    make = lambda impl: cls(
      features=4,
      kernel_size=k,
      stride=stride,
      padding=padding,
      bias_init=nn.initializers.normal(1.0),
      implementation=impl,
    )
    init = lambda impl: jax.jit(make(impl).init)(jax.random.key(0), x)['params']
    params = init('fast')
    chex.assert_trees_all_equal_shapes(params, jax.eval_shape(lambda: init('xla')))
    chex.assert_shape(params['kernel'], (k, k, 3, 4))
    fast, xla = _values_and_grads(
      [lambda p, x, impl=impl: make(impl).apply({'params': p}, x) for impl in ('fast', 'xla')],
      params,
      x,
    )
    chex.assert_trees_all_close(fast, xla, **_TOL)

  def test_dtype_and_leading_batch_dims(self):
    x = jnp.ones((3, 2, 7, 7, 4), jnp.float32)
    module = convolutions.ConvTranspose(features=2, kernel_size=4, dtype=jnp.bfloat16)
    y, params = jax.eval_shape(module.init_with_output, jax.random.key(5), x)
    chex.assert_shape(y, (3, 2, 14, 14, 2))
    self.assertEqual(y.dtype, jnp.bfloat16)
    self.assertEqual(params['params']['kernel'].dtype, jnp.float32)

  def test_dcgan_shapes(self):
    def apply(stack, x):
      for module in stack:  # Shapes only: nothing is compiled.
        x, _ = jax.eval_shape(module.init_with_output, jax.random.key(6), x)
      return x

    convt = lambda f, s=2, p=1: convolutions.ConvTranspose(f, 4, stride=s, padding=p)
    conv = lambda f, s=2, p=1, k=4: convolutions.Conv(f, k, stride=s, padding=p)
    chex.assert_shape(
      apply([convt(8), convt(4), conv(1, 1, 1, 3)], jnp.ones((2, 7, 7, 16))), (2, 28, 28, 1)
    )
    chex.assert_shape(apply([conv(4), conv(8)], jnp.ones((2, 28, 28, 1))), (2, 7, 7, 8))
    generator = [convt(16, 1, 0), convt(8), convt(4), convt(4), convt(3)]
    chex.assert_shape(apply(generator, jnp.ones((2, 1, 1, 32))), (2, 64, 64, 3))
    discriminator = [conv(4), conv(4), conv(8), conv(16), conv(1, 1, 0)]
    chex.assert_shape(apply(discriminator, jnp.ones((2, 64, 64, 3))), (2, 1, 1, 1))

  def test_conv_transpose_output_padding(self):
    x = _random(12, (2, 5, 5, 4))
    make = lambda impl: convolutions.ConvTranspose(
      features=2, kernel_size=3, output_padding=1, implementation=impl
    )
    # Random values in the parameters' shapes: no random init to compile.
    shapes = jax.eval_shape(make('fast').init, jax.random.key(8), x)
    params = jax.tree.map(lambda p: _random(13 + len(p.shape), p.shape), shapes)
    fast, xla = [jax.jit(make(impl).apply)(params, x) for impl in ('fast', 'xla')]
    chex.assert_shape(fast, (2, 10, 10, 2))
    chex.assert_trees_all_close(fast, xla, **_TOL)
    too_large = convolutions.ConvTranspose(features=2, kernel_size=3, output_padding=2)
    with pytest.raises(ValueError, match='output_padding'):
      jax.eval_shape(too_large.init, jax.random.key(8), jnp.ones((1, 4, 4, 1)))

  def test_auto_is_fast_on_cpu(self):
    if jax.default_backend() != 'cpu':
      self.skipTest('CPU only')
    self.assertEqual(convolutions.resolve('auto'), 'fast')

  def test_unknown_implementation(self):
    module = convolutions.Conv(features=2, kernel_size=3, implementation='cudnn')
    with pytest.raises(ValueError, match=re.escape("('auto', 'fast', 'xla')")):
      jax.eval_shape(module.init, jax.random.key(7), jnp.ones((1, 4, 4, 1)))
