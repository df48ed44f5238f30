"""2D convolution layers whose forward and backward passes stay on XLA:CPU's fast path.

Plain `flax.linen.Conv` / `ConvTranspose` train a DCGAN about 26 times slower
than PyTorch on XLA:CPU (see `shared/notes/xla-cpu-convolutions.md`), because
autodiff emits convolutions that XLA:CPU runs on a slow generic emitter:
lhs-dilated convolutions (transposed convolutions and their kernel
gradients) and convolutions with non-canonical dimension numbers (every
gradient), the latter 10 to 160 times slower inside `lax.scan`.

Here every convolution, forward and backward, is a *canonical*
`lax.conv_general_dilated`: NHWC x HWIO -> NHWC, no lhs dilation. Three
linear maps are enough, and each one's vjp is built from the three, so the
set is closed under differentiation:

* `_conv`: the strided convolution y = conv(x, k).
* `_conv_adjoint`: its adjoint in x (the input gradient, and the transposed
  convolution), computed sub-pixel: one stride-1 convolution to
  stride**2 x C channels followed by depth-to-space, so the zeros a dilated
  input would hold are never multiplied.
* `_conv_kernel_grad`: its adjoint in k, one convolution with the batch and
  feature dimensions swapped and rhs dilation equal to the stride.

A stride-1 convolution with a large kernel between an image's few channels
and feature maps (CycleGAN's first and last layers) is slow on XLA:CPU even
when canonical; it is computed on 2x2 pixel blocks moved into channels
(`_blocked_conv`), the same convolution on shapes XLA:CPU runs faster.

Padding follows PyTorch: `conv2d(padding=p)` pads p zeros on each side,
`conv_transpose2d(padding=p, output_padding=q)` is
`ConvTranspose2d(padding=p, output_padding=q)`.
"""

import functools
import math
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen import dtypes
from jax import lax

_DIMENSION_NUMBERS = ('NHWC', 'HWIO', 'NHWC')
IMPLEMENTATIONS = ('auto', 'fast', 'xla')

Array = jax.Array
Initializer = Callable[..., Array]


# ---------------------------------------------------------------------------
# Canonical building blocks.


def _canonical_conv(
  lhs: Array, rhs: Array, *, strides=(1, 1), padding=((0, 0), (0, 0)), rhs_dilation=(1, 1)
) -> Array:
  """The only convolution call in the fast path: NHWC x HWIO -> NHWC, no lhs dilation."""
  # XLA's algebraic simplifier swaps a convolution's operands when the
  # window covers more positions than the unpadded input does (the input
  # gradient of a stride-1 4x4 convolution of a 4x4 map, in PatchGAN's last
  # two layers): the swapped convolution has a reversed window and runs on
  # XLA:CPU's generic emitter (that layer's gradient took 5 times as long
  # at CycleGAN's sizes). Padded beforehand, behind a barrier that keeps the
  # pad from being folded back into the convolution, the input stays the
  # larger operand.
  window = math.prod((k - 1) * d + 1 for k, d in zip(rhs.shape[:2], rhs_dilation))
  if window > math.prod(lhs.shape[1:3]) and any(p != (0, 0) for p in padding):
    lhs = lax.optimization_barrier(jnp.pad(lhs, ((0, 0), *padding, (0, 0))))
    padding = ((0, 0), (0, 0))
  return lax.conv_general_dilated(
    lhs,
    rhs,
    window_strides=strides,
    padding=padding,
    rhs_dilation=rhs_dilation,
    dimension_numbers=_DIMENSION_NUMBERS,
  )


def _pad_or_crop(x: Array, pads: tuple[tuple[int, int], ...]) -> tuple[Array, tuple]:
  """Splits (low, high) spatial paddings into a crop of x and non-negative paddings.

  Negative padding means "drop these rows": slicing them off before the
  convolution keeps the convolution's own padding non-negative, which every
  backend supports.

  Args:
    x: an NHWC array.
    pads: ((low, high), (low, high)) for H and W; entries may be negative.

  Returns:
    The cropped x and the non-negative paddings to hand to the convolution.
  """
  slices = [slice(None)]
  for (low, high), size in zip(pads, x.shape[1:3]):
    slices.append(slice(max(-low, 0), size - max(-high, 0)))
  slices.append(slice(None))
  if any(s != slice(None) for s in slices):
    x = x[tuple(slices)]
  return x, tuple((max(low, 0), max(high, 0)) for low, high in pads)


def _conv_forward(x: Array, kernel: Array, stride: int, padding: int) -> Array:
  return _canonical_conv(
    x, kernel, strides=(stride, stride), padding=((padding, padding), (padding, padding))
  )


def _subpixel_kernel(kernel: Array, stride: int, taps: tuple[int, int]) -> Array:
  """Rearranges a forward kernel into the stride-1 kernel of its input adjoint.

  The adjoint of y[o] = sum_i x[s*o + i - p] k[i] is, for the output phase
  r = (h + p) mod s and q = (h + p) // s, dx[h] = sum_m dy[q - m] k[r + s*m]:
  one correlation of dy with the flipped sub-kernel k[r::s] per phase. All
  s*s phases go into the output channels of a single convolution.

  Args:
    kernel: the forward kernel, HWIO (I = channels of x, O = channels of y).
    stride: the forward stride s.
    taps: (Mh, Mw) = ceil(k / s) per spatial axis.

  Returns:
    A (Mh, Mw, O, s*s*I) kernel whose output channels are ordered (rh, rw, i).
  """
  kh, kw, cin, cout = kernel.shape
  mh, mw = taps
  # Zero taps complete sub-kernels when k is not a multiple of s.
  kernel = jnp.pad(kernel, ((0, stride * mh - kh), (0, stride * mw - kw), (0, 0), (0, 0)))
  kernel = kernel.reshape(mh, stride, mw, stride, cin, cout)
  kernel = kernel[::-1, :, ::-1]  # Correlation of dy with k[r + s*m] runs m backwards.
  kernel = kernel.transpose(0, 2, 5, 1, 3, 4)  # (mh, mw, cout, rh, rw, cin)
  return kernel.reshape(mh, mw, cout, stride * stride * cin)


def _depth_to_space(x: Array, factor: int) -> Array:
  """(N, H, W, f*f*C) -> (N, f*H, f*W, C): channel block (rh, rw) of pixel q goes to f*q + (rh, rw)."""
  if factor == 1:
    return x
  n, h, w, _ = x.shape
  x = x.reshape(n, h, w, factor, factor, -1).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(n, h * factor, w * factor, -1)


def _space_to_depth(x: Array, factor: int) -> Array:
  """The inverse of `_depth_to_space`; H and W must be multiples of the factor."""
  n, h, w, c = x.shape
  x = x.reshape(n, h // factor, factor, w // factor, factor, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(n, h // factor, w // factor, factor * factor * c)


def _adjoint_geometry(out_size: int, in_size: int, k: int, stride: int, padding: int):
  """Per-axis sizes of the sub-pixel adjoint: taps, dy padding, first phase row, crop."""
  taps = -(-k // stride)
  # Rows of the depth-to-space output are t = s*q + r, and dx[h] = row h + p.
  q_first = padding // stride
  q_last = (padding + out_size - 1) // stride
  pad = (taps - 1 - q_first, q_last - in_size + 1)
  crop_start = padding - stride * q_first
  return taps, pad, crop_start


def _conv_adjoint_forward(
  dy: Array, kernel: Array, stride: int, padding: int, out_hw: tuple[int, int]
) -> Array:
  """Adjoint of `_conv_forward` in x: maps y-shaped dy to an x of spatial size out_hw."""
  geometry = [
    _adjoint_geometry(o, i, k, stride, padding)
    for o, i, k in zip(out_hw, dy.shape[1:3], kernel.shape[:2])
  ]
  taps = tuple(g[0] for g in geometry)
  dy, pads = _pad_or_crop(dy, tuple(g[1] for g in geometry))
  z = _canonical_conv(dy, _subpixel_kernel(kernel, stride, taps), padding=pads)
  z = _depth_to_space(z, stride)
  (_, _, start_h), (_, _, start_w) = geometry
  return z[:, start_h : start_h + out_hw[0], start_w : start_w + out_hw[1], :]


def _conv_kernel_grad_forward(
  x: Array, dy: Array, stride: int, padding: int, kernel_hw: tuple[int, int]
) -> Array:
  """Adjoint of `_conv_forward` in the kernel: dk[i, j, c, o] = sum x_pad[s*a + i] dy[a]."""
  pads = []
  for size, out, k in zip(x.shape[1:3], dy.shape[1:3], kernel_hw):
    # Rows past the last window (when (size + 2p - k) % s != 0) never met the
    # kernel; dropping them makes the result exactly k wide.
    unused = size + 2 * padding - k - stride * (out - 1)
    pads.append((padding, padding - unused))
  x, pads = _pad_or_crop(x, tuple(pads))
  # Batch becomes the contraction (feature) dimension and x's channels the batch.
  dk = _canonical_conv(
    x.transpose(3, 1, 2, 0), dy.transpose(1, 2, 0, 3), padding=pads, rhs_dilation=(stride, stride)
  )
  return dk.transpose(1, 2, 0, 3)


# ---------------------------------------------------------------------------
# The three maps, each with a vjp made of the three. By bilinearity
# <dy, conv(x, k)> = <adjoint(dy, k), x> = <kernel_grad(x, dy), k>.
# The fwd rules call the custom-vjp maps rather than the raw bodies, so that
# a second differentiation (of a gradient) also goes through the custom
# rules instead of autodiff of the raw bodies, which would be non-canonical.


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv(x, kernel, stride, padding):
  return _conv_forward(x, kernel, stride, padding)


def _conv_fwd(x, kernel, stride, padding):
  return _conv(x, kernel, stride, padding), (x, kernel)


def _conv_bwd(stride, padding, residuals, g):
  x, kernel = residuals
  return (
    _conv_adjoint(g, kernel, stride, padding, x.shape[1:3]),
    _conv_kernel_grad(x, g, stride, padding, kernel.shape[:2]),
  )


_conv.defvjp(_conv_fwd, _conv_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_adjoint(dy, kernel, stride, padding, out_hw):
  return _conv_adjoint_forward(dy, kernel, stride, padding, out_hw)


def _conv_adjoint_fwd(dy, kernel, stride, padding, out_hw):
  return _conv_adjoint(dy, kernel, stride, padding, out_hw), (dy, kernel)


def _conv_adjoint_bwd(stride, padding, out_hw, residuals, g):
  del out_hw
  dy, kernel = residuals
  return (
    _conv(g, kernel, stride, padding),
    _conv_kernel_grad(g, dy, stride, padding, kernel.shape[:2]),
  )


_conv_adjoint.defvjp(_conv_adjoint_fwd, _conv_adjoint_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_kernel_grad(x, dy, stride, padding, kernel_hw):
  return _conv_kernel_grad_forward(x, dy, stride, padding, kernel_hw)


def _conv_kernel_grad_fwd(x, dy, stride, padding, kernel_hw):
  return _conv_kernel_grad(x, dy, stride, padding, kernel_hw), (x, dy)


def _conv_kernel_grad_bwd(stride, padding, kernel_hw, residuals, g):
  del kernel_hw
  x, dy = residuals
  return (_conv_adjoint(dy, g, stride, padding, x.shape[1:3]), _conv(x, g, stride, padding))


_conv_kernel_grad.defvjp(_conv_kernel_grad_fwd, _conv_kernel_grad_bwd)


# ---------------------------------------------------------------------------
# Large stride-1 kernels on an image's few channels, computed on pixel blocks.

# XLA:CPU's convolutions are slow where one side has an image's few channels
# and the kernel is large: CycleGAN's 7x7 first and last layers. Moved into
# channels in 2x2 pixel blocks (space-to-depth), such a convolution becomes
# one on a quarter of the pixels with four times the channels on each side
# and a ceil((k + 1) / 2) kernel: 1.31 times the multiplications for k = 7,
# on shapes XLA:CPU runs faster. CycleGAN's 7x7 layers, with their
# gradients, took a quarter to a half less time so (1.27 to 1.98 times as
# fast); with more channels blocks lose (7x7, 32 -> 32: 0.79), and at 3x3
# too (64 -> 1: 0.67). AVX2-only AMD EPYC, jax 0.10.2, 2026-12-07:
# benchmarks/blocked_conv_speed.py, its figures in benchmarks/results/speed.md.
_BLOCK = 2
_BLOCKED_MIN_KERNEL = 5
_BLOCKED_MAX_CHANNELS = 4


def _blocks_pay(kernel_shape: tuple[int, ...], stride: int) -> bool:
  """Whether a convolution of this HWIO kernel runs faster on pixel blocks."""
  kh, kw, cin, cout = kernel_shape
  return (
    stride == 1 and min(kh, kw) >= _BLOCKED_MIN_KERNEL and min(cin, cout) <= _BLOCKED_MAX_CHANNELS
  )


def _blocked_kernel(kernel: Array, factor: int) -> Array:
  """A stride-1 kernel rearranged to map factor x factor pixel blocks to blocks.

  Output pixel f*u + o (block u, phase o) reads input pixels f*u + o + i for
  the kernel's taps i, which are phase r of block u + a where f*a + r = o + i.
  So K[a, b, (rh, rw, c), (oh, ow, d)] = k[f*a + rh - oh, f*b + rw - ow, c, d],
  and zero where that index falls outside k.

  Args:
    kernel: HWIO, stride 1.
    factor: the block side f.

  Returns:
    A (th, tw, f*f*I, f*f*O) kernel, with th = ceil((kh + f - 1) / f).
  """
  kh, kw, cin, cout = kernel.shape
  th, tw = (-(-(k + factor - 1) // factor) for k in (kh, kw))
  # Shifted by f - 1, so that f*a + r - o is the index f*a + r + (f - 1 - o) >= 0.
  shifted = jnp.pad(
    kernel, ((factor - 1, factor * th - kh), (factor - 1, factor * tw - kw), (0, 0), (0, 0))
  )
  phases = []
  for oh in range(factor):
    row = []
    for ow in range(factor):
      h0, w0 = factor - 1 - oh, factor - 1 - ow
      taps = shifted[h0 : h0 + factor * th, w0 : w0 + factor * tw]
      taps = taps.reshape(th, factor, tw, factor, cin, cout)
      row.append(taps.transpose(0, 2, 1, 3, 4, 5))  # (a, b, rh, rw, c, d)
    phases.append(jnp.stack(row, axis=-2))  # (a, b, rh, rw, c, ow, d)
  blocked = jnp.stack(phases, axis=-3)  # (a, b, rh, rw, c, oh, ow, d)
  return blocked.reshape(th, tw, factor * factor * cin, factor * factor * cout)


def _blocked_conv(x: Array, kernel: Array, padding: int, factor: int) -> Array:
  """`_conv(x, kernel, 1, padding)` computed on factor x factor pixel blocks.

  Only pads, reshapes and the canonical `_conv` (with its custom vjp), so
  its gradients, to any order, stay on the fast path as well.
  """
  blocked_kernel = _blocked_kernel(kernel, factor)
  out_hw = [n + 2 * padding - k + 1 for n, k in zip(x.shape[1:3], kernel.shape[:2])]
  # Whole blocks, enough of them for every window of the last output block.
  padded_hw = [
    factor * (-(-out // factor) + taps - 1) for out, taps in zip(out_hw, blocked_kernel.shape[:2])
  ]
  pads = [(padding, padded - n - padding) for padded, n in zip(padded_hw, x.shape[1:3])]
  x = jnp.pad(x, ((0, 0), *pads, (0, 0)))
  y = _depth_to_space(_conv(_space_to_depth(x, factor), blocked_kernel, 1, 0), factor)
  return y[:, : out_hw[0], : out_hw[1]]


# ---------------------------------------------------------------------------
# Public functions.


def conv2d(x: Array, kernel: Array, *, stride: int = 1, padding: int = 0) -> Array:
  """2D convolution (cross-correlation) with PyTorch `Conv2d` padding semantics.

  The output has spatial size floor((H + 2 * padding - k) / stride) + 1.
  Forward and backward passes are canonical `lax.conv_general_dilated` calls
  (see the module docstring); values and gradients equal those of the plain
  `lax.conv_general_dilated` to float rounding. A stride-1 kernel of 5x5 or
  more between at most 4 channels and any number is computed on 2x2 pixel
  blocks, which XLA:CPU runs faster (`_blocked_conv`). Reverse-over-reverse
  differentiation (e.g. a gradient penalty) works and stays canonical, since
  each custom vjp is built from the same custom-vjp maps. Forward-mode
  (`jax.jvp`, `jax.jacfwd`) is not supported, as for any `jax.custom_vjp`.

  Args:
    x: input, NHWC.
    kernel: HWIO, I = channels of x.
    stride: the same stride on H and W.
    padding: zeros added on each side of H and W.

  Returns:
    The NHWC output, O channels.
  """
  if _blocks_pay(kernel.shape, stride):
    return _blocked_conv(x, kernel, padding, _BLOCK)
  return _conv(x, kernel, stride, padding)


def _check_output_padding(output_padding: int, stride: int) -> None:
  # The same rule as PyTorch's: stride - 1 is the most that still leaves
  # conv2d of the larger size with the input's size, so the map stays the
  # adjoint of one conv2d.
  if not 0 <= output_padding < stride:
    raise ValueError(
      f'output_padding must be in [0, stride) = [0, {stride}), got {output_padding}.'
    )


def conv_transpose2d(
  x: Array, kernel: Array, *, stride: int = 2, padding: int = 1, output_padding: int = 0
) -> Array:
  """Transposed 2D convolution with PyTorch `ConvTranspose2d` semantics.

  The output has spatial size (H - 1) * stride - 2 * padding + k +
  output_padding, and conv_transpose2d(y, K) is the vjp in x of
  x -> conv2d(x, K', stride, padding) for an x of that size, with K' = K with
  its I and O axes swapped. Stride > 1 is computed sub-pixel (one stride-1
  convolution to stride**2 x O channels, then depth-to-space), so no
  inserted zero is multiplied. Differentiation behaves as in `conv2d`.

  Args:
    x: input, NHWC.
    kernel: HWIO, I = channels of x, O = output channels.
    stride: the upsampling factor on H and W.
    padding: as PyTorch's: rows cropped from each side of the full output.
    output_padding: as PyTorch's: rows added at the bottom and columns at the
      right of the output, so that e.g. k=3, stride=2, padding=1 doubles the
      size exactly. Must be less than `stride`.

  Returns:
    The NHWC output, O channels.

  Raises:
    ValueError: if output_padding is negative or not less than stride.
  """
  _check_output_padding(output_padding, stride)
  out_hw = tuple(
    (size - 1) * stride - 2 * padding + k + output_padding
    for size, k in zip(x.shape[1:3], kernel.shape[:2])
  )
  # The adjoint's geometry already handles an x whose last rows meet only
  # part of the kernel (conv2d's gradient needs it), so output_padding is
  # just a larger out_hw.
  return _conv_adjoint(x, jnp.swapaxes(kernel, 2, 3), stride, padding, out_hw)


def xla_conv2d(x: Array, kernel: Array, *, stride: int = 1, padding: int = 0) -> Array:
  """`conv2d` as one plain `lax.conv_general_dilated`, differentiated by JAX."""
  return lax.conv_general_dilated(
    x,
    kernel,
    window_strides=(stride, stride),
    padding=((padding, padding), (padding, padding)),
    dimension_numbers=_DIMENSION_NUMBERS,
  )


def xla_conv_transpose2d(
  x: Array, kernel: Array, *, stride: int = 2, padding: int = 1, output_padding: int = 0
) -> Array:
  """`conv_transpose2d` as plain `lax.conv_transpose` (what `nn.ConvTranspose` runs).

  Raises:
    ValueError: if output_padding is negative or not less than stride.
  """
  _check_output_padding(output_padding, stride)
  # lax.conv_transpose pads the stride-dilated input; output_padding is extra
  # padding on the high (bottom, right) side only, as in PyTorch.
  pads = tuple((k - 1 - padding, k - 1 - padding + output_padding) for k in kernel.shape[:2])
  # transpose_kernel=True flips and I/O-swaps its kernel back to ours: the
  # gradient-of-conv2d convention that defines conv_transpose2d.
  return lax.conv_transpose(
    x,
    jnp.swapaxes(kernel, 2, 3),
    (stride, stride),
    pads,
    dimension_numbers=_DIMENSION_NUMBERS,
    transpose_kernel=True,
  )


# ---------------------------------------------------------------------------
# Flax modules.


def resolve(implementation: str) -> str:
  """'fast' or 'xla': what an implementation name means on this backend.

  Raises:
    ValueError: for a name not in IMPLEMENTATIONS.
  """
  if implementation not in IMPLEMENTATIONS:
    raise ValueError(f'implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}')
  if implementation == 'auto':
    # The rewrite only pays where XLA's own lowering is slow: the CPU.
    return 'fast' if jax.default_backend() == 'cpu' else 'xla'
  return implementation


class _ConvBase(nn.Module):
  """Shared fields and body; subclasses pick the kernel shape and the two ops."""

  features: int
  kernel_size: int
  stride: int = 1
  padding: int = 0
  use_bias: bool = True
  kernel_init: Initializer = nn.initializers.lecun_normal()
  bias_init: Initializer = nn.initializers.zeros_init()
  dtype: Any = None
  param_dtype: Any = jnp.float32
  implementation: str = 'auto'

  _fast_op = None
  _xla_op = None

  def _op_options(self) -> dict[str, Any]:
    """Keyword arguments of the op beyond stride and padding."""
    return {}

  @nn.compact
  def __call__(self, inputs: Array) -> Array:
    """Applies the convolution to NHWC inputs (any number of leading batch dims)."""
    op = self._fast_op if resolve(self.implementation) == 'fast' else self._xla_op
    kernel = self.param(
      'kernel',
      self.kernel_init,
      (self.kernel_size, self.kernel_size, inputs.shape[-1], self.features),
      self.param_dtype,
    )
    bias = (
      self.param('bias', self.bias_init, (self.features,), self.param_dtype)
      if self.use_bias
      else None
    )
    inputs, kernel, bias = dtypes.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
    batch_shape = inputs.shape[:-3]
    y = op(
      inputs.reshape((-1,) + inputs.shape[-3:]),
      kernel,
      stride=self.stride,
      padding=self.padding,
      **self._op_options(),
    )
    y = y.reshape(batch_shape + y.shape[1:])
    if bias is not None:
      y = y + bias
    return y


class Conv(_ConvBase):
  """2D convolution, PyTorch `Conv2d` padding, fast on XLA:CPU.

  Attributes:
    features: output channels.
    kernel_size: square kernel side.
    stride: stride on H and W.
    padding: zeros added on each side of H and W.
    use_bias: whether to add a bias.
    kernel_init: initializer of the HWIO `kernel`.
    bias_init: initializer of `bias`.
    dtype: computation dtype; None infers it from inputs and params.
    param_dtype: dtype of the parameters.
    implementation: 'fast' (`conv2d`), 'xla' (plain `lax.conv_general_dilated`)
      or 'auto' ('fast' on the CPU backend, 'xla' elsewhere). Parameters are
      the same for all, so a checkpoint works with either.
  """

  _fast_op = staticmethod(conv2d)
  _xla_op = staticmethod(xla_conv2d)


class ConvTranspose(_ConvBase):
  """Transposed 2D convolution with PyTorch `ConvTranspose2d` semantics, fast on XLA:CPU.

  The output side is (H - 1) * stride - 2 * padding + kernel_size +
  output_padding. The `kernel` is HWIO with I = input channels, O = `features`.

  Attributes:
    features: output channels.
    kernel_size: square kernel side.
    stride: upsampling factor on H and W.
    padding: PyTorch's: rows cropped from each side of the full output.
    output_padding: PyTorch's: rows (columns) added at the bottom (right) of
      the output; less than `stride`.
    use_bias: whether to add a bias.
    kernel_init: initializer of the HWIO `kernel`.
    bias_init: initializer of `bias`.
    dtype: computation dtype; None infers it from inputs and params.
    param_dtype: dtype of the parameters.
    implementation: 'fast' (`conv_transpose2d`), 'xla' (plain lhs-dilated
      `lax.conv_general_dilated`) or 'auto' ('fast' on the CPU backend, 'xla'
      elsewhere). Parameters are the same for all.
  """

  stride: int = 2
  padding: int = 1
  output_padding: int = 0
  _fast_op = staticmethod(conv_transpose2d)
  _xla_op = staticmethod(xla_conv_transpose2d)

  def _op_options(self) -> dict[str, Any]:
    return {'output_padding': self.output_padding}


def operations(implementation: str) -> tuple[Any, Any]:
  """(conv2d, conv_transpose2d) of an implementation, for layers that hold their own weights."""
  if resolve(implementation) == 'fast':
    return conv2d, conv_transpose2d
  return xla_conv2d, xla_conv_transpose2d
