"""StyleGAN's and StyleGAN2's networks: mapping, synthesis, discriminator.

Ported from NVlabs/stylegan, `training/networks_stylegan.py` (`G_mapping`,
`G_synthesis` and `D_basic` with `structure='fixed'`, i.e. without
progressive growing; resampling convs as its non-fused ops, computed in its
fused form, the same linear map) and from
NVlabs/stylegan2-ada-pytorch, `training/networks.py` (`MappingNetwork`,
`SynthesisNetwork` with the 'orig' and 'skip' architectures, `Discriminator`
with the 'resnet' architecture) and its `torch_utils/ops` (`upfirdn2d`,
`conv2d_resample`). NHWC instead of NCHW, images in [-1, 1], no labels.

The two papers' generators are options of one `SynthesisNetwork`:

* `style='adain'` (StyleGAN): a learned constant 4x4 input (ones), then per
  layer a 3x3 conv (the first of each resolution after nearest 2x
  upsampling, followed by the [1, 2, 1] blur), per-pixel noise times learned
  per-channel weights, bias, LeakyReLU(0.2), instance normalisation and
  AdaIN with a style from an affine map of that layer's w.
* `style='modulated'` (StyleGAN2): a learned constant (standard normal), then
  per layer a modulated 3x3 conv with weight demodulation (the first of each
  resolution upsamples 2x as a transposed conv followed by the [1, 3, 3, 1]
  FIR filter), noise times one learned strength, bias, LeakyReLU(0.2) times
  sqrt(2).

`architecture='orig'` turns the last features into the image with one toRGB;
`'skip'` (StyleGAN2's default) sums toRGB outputs of every resolution, the
running image upsampled with the FIR filter.

Feature maps. Both references use nf(stage) = min(fmap_base // 2**stage,
fmap_max), but index the stage differently: StyleGAN gives resolution 2**r
nf(r - 1) channels, StyleGAN2 nf(r) (its `channel_base // res`). Each style
keeps its reference's index (so 'adain' has twice the channels of
'modulated' at one fmap_base, until fmap_max caps both) and its default
fmap_base (8192 and 32768: 512 channels up to 32x32 and 64x64 respectively).
The discriminator does the same: 'orig' is StyleGAN's D (nf(r - 1) and
nf(r - 2) in the block at 2**r, nf(1) and nf(0) at 4x4), 'resnet'
StyleGAN2's (nf(r) in, nf(r - 1) out).

Equalised learning rate (Karras et al. 2018): every weight is stored
N(0, 1/lr_multiplier^2) and scaled at run time by gain * lr_multiplier /
sqrt(fan_in), so Adam's scale-free steps move every layer's effective
weights alike (and the mapping network's, with lr_multiplier 0.01, 100 times
less). Biases are stored at their initial value and multiplied by
lr_multiplier at run time, as both references do.

Where the LeakyReLU's sqrt(2) goes follows each reference: StyleGAN puts it
into the weights' gain (lrelu(sqrt(2) W x + b)), StyleGAN2 multiplies the
activation by it (sqrt(2) lrelu(W x + b)). Both are the same function of
the weights; they differ only in the bias's scale, which matters under
Adam: an effective bias moves sqrt(2) times faster in StyleGAN2's form. The
mapping network takes its style's form (`gain_after_activation`).

Noise: `noise_keys` holds one typed PRNG key per example, and each layer
draws that example's noise from its key folded with the layer's index, so
an example's noise depends neither on the other examples nor on how the
batch is split over devices. `noise_keys=None` adds no noise.

Departures, none of which changes what the networks can represent: dense
layers after a conv flatten H, W, C rather than C, H, W (a permutation of
the weights); 'orig' D is StyleGAN's, not StyleGAN2's 'orig' (which has
StyleGAN2's FIR resampling); and noise keys must be threefry keys (see
`draw_noise`).

Every convolution goes through `jaxgan.nn.convolutions`, which keeps them on
XLA:CPU's fast path; blurs and FIR resampling are separable sums of shifted
slices, cheap elementwise work.

Precision: `dtype` (float32 or bfloat16) is what the synthesis layers and
D's convolutions compute in. Parameters stay float32 (each layer casts its
scaled weights), and so do the parts where bfloat16's 8 bits of mantissa
would lose what matters: the mapping network and every affine map of w
(the styles), instance normalisation's and demodulation's statistics, the
minibatch standard deviation and D's 4x4 epilogue, and the image (each
toRGB output is summed in float32), as stylegan2-ada-pytorch keeps its
mapping, affines, epilogue and image in float32 when its layers run in
float16. A synthesis network returns float32 images and D float32 logits,
so losses and penalties are float32 whatever `dtype` is.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxgan import parallel
from jaxgan.nn import convolutions, initializers

Array = jax.Array

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2
STYLES = ('adain', 'modulated')
SYNTHESIS_ARCHITECTURES = ('orig', 'skip')
DISCRIMINATOR_ARCHITECTURES = ('orig', 'resnet')

# Each reference's default fmap_base; see the module docstring for the stage index.
DEFAULT_FMAP_BASE = {'adain': 8192, 'modulated': 32768, 'orig': 8192, 'resnet': 32768}
# StyleGAN's blur after upsampling and before downsampling convs.
BLUR_TAPS = (1.0, 2.0, 1.0)
# StyleGAN2's resampling filter.
FIR_TAPS = (1.0, 3.0, 3.0, 1.0)


def lrelu(x: Array) -> Array:
  """LeakyReLU with slope 0.2, both references' activation."""
  return nn.leaky_relu(x, LRELU_SLOPE)


def nf(stage: int, fmap_base: int, fmap_max: int) -> int:
  """Feature maps at a stage: min(fmap_base // 2**stage, fmap_max), at least 1."""
  return max(min(fmap_base // 2**stage, fmap_max), 1)


# ---------------------------------------------------------------------------
# Resampling filters: pure functions on NHWC arrays.


def _fir_axis(x: Array, taps: Sequence[float], axis: int, pad: tuple[int, int]) -> Array:
  """Zero-pads one axis and correlates it with `taps`: a sum of shifted slices."""
  widths = [(0, 0)] * x.ndim
  widths[axis] = pad
  x = jnp.pad(x, widths)
  size = x.shape[axis] - len(taps) + 1
  return sum(t * lax.slice_in_dim(x, k, k + size, axis=axis) for k, t in enumerate(taps))


def _normalised(taps: Sequence[float], gain: float) -> tuple[float, ...]:
  # Each axis gets sqrt(gain), so the 2-D filter (the outer product) sums to gain.
  total = sum(taps)
  return tuple(t / total * math.sqrt(gain) for t in taps)


def fir_filter2d(
  x: Array, taps: Sequence[float], padding: tuple[int, int], *, gain: float = 1.0
) -> Array:
  """Filters H and W with the separable filter outer(taps, taps), zero padding.

  The filter is normalised to sum to `gain`. With symmetric taps (all used
  here) correlation and convolution agree, so this is the reference's
  `upfirdn2d(x, f, padding=...)` with up = down = 1.

  Args:
    x: NHWC.
    taps: the 1-D filter.
    padding: (before, after) zeros on each side of H and of W.
    gain: the sum of the 2-D filter.

  Returns:
    NHWC, each side H + before + after - len(taps) + 1.
  """
  taps = _normalised(taps, gain)
  return _fir_axis(_fir_axis(x, taps, 1, padding), taps, 2, padding)


def _zero_insert(x: Array, axis: int) -> Array:
  """x[0], 0, x[1], 0, ...: doubles an axis by inserting a zero after each entry."""
  stacked = jnp.stack([x, jnp.zeros_like(x)], axis=axis + 1)
  shape = list(x.shape)
  shape[axis] *= 2
  return stacked.reshape(shape)


def upsample2d(x: Array, taps: Sequence[float] = FIR_TAPS) -> Array:
  """StyleGAN2's 2x FIR upsampling (`upfirdn2d.upsample2d`): (B, H, W, C) -> (B, 2H, 2W, C).

  Zeros are inserted after each pixel, the result is padded with
  (len + 1) // 2 zeros before and (len - 2) // 2 after, and filtered with
  outer(taps, taps) normalised to sum to 4 (each input pixel's mass is
  spread over 4 output pixels). For [1, 3, 3, 1]: out[2m] = (x[m - 1] +
  3 x[m]) / 4 and out[2m + 1] = (3 x[m] + x[m + 1]) / 4 on each axis, with
  x = 0 outside the image, so a constant image stays constant except on
  the border rows and columns (3/4 of it there).
  """
  pad = ((len(taps) + 1) // 2, (len(taps) - 2) // 2)
  x = _zero_insert(_zero_insert(x, 1), 2)
  return fir_filter2d(x, taps, pad, gain=4.0)


def downsample2d(x: Array, taps: Sequence[float] = FIR_TAPS) -> Array:
  """StyleGAN2's 2x FIR downsampling (`upfirdn2d.downsample2d`): (B, H, W, C) -> (B, H/2, W/2, C).

  Pads (len - 1) // 2 zeros before and (len - 2) // 2 after, filters with
  outer(taps, taps) normalised to sum to 1, keeps every other pixel: for
  [1, 3, 3, 1], out[m] = (x[2m - 1] + 3 x[2m] + 3 x[2m + 1] + x[2m + 2]) / 8
  on each axis.
  """
  pad = ((len(taps) - 1) // 2, (len(taps) - 2) // 2)
  return fir_filter2d(x, taps, pad)[:, ::2, ::2, :]


def blur2d(x: Array, taps: Sequence[float] = BLUR_TAPS) -> Array:
  """StyleGAN's blur (`blur2d`): outer(taps, taps) normalised to 1, 'SAME' zero padding.

  The output has the input's size; a constant image stays constant except
  within len(taps) // 2 pixels of the border.
  """
  return fir_filter2d(x, taps, (len(taps) // 2, (len(taps) - 1) // 2))


def upsample_nearest2d(x: Array) -> Array:
  """StyleGAN's 2x upscale (`upscale2d`): each pixel repeated 2x2."""
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def downsample_box2d(x: Array) -> Array:
  """StyleGAN's 2x downscale (`downscale2d`): the mean of each 2x2 block."""
  b, h, w, c = x.shape
  return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


# ---------------------------------------------------------------------------
# Normalisations and the minibatch standard deviation.


def pixel_norm(x: Array, epsilon: float = 1e-8) -> Array:
  """Divides each vector (last axis) by its root mean square (`normalize_2nd_moment`)."""
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + epsilon)


def instance_norm(x: Array, epsilon: float = 1e-8) -> Array:
  """StyleGAN's instance normalisation: per sample and channel over H and W, no affine.

  Computed in float32 whatever x's dtype (a bfloat16 mean over H x W loses
  the small differences the normalisation divides by); returns float32.
  """
  x = x.astype(jnp.float32)
  x = x - jnp.mean(x, axis=(1, 2), keepdims=True)
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=(1, 2), keepdims=True) + epsilon)


def adaptive_instance_norm(x: Array, style: Array) -> Array:
  """AdaIN (`style_mod` after `instance_norm`): IN(x) * (scale + 1) + bias.

  Args:
    x: NHWC features, C channels.
    style: (B, 2C), the affine map of w: the first C entries are the
      scales (around 0: the + 1 starts the layer at identity), the last C
      the biases.

  Returns:
    NHWC, like x, in x's dtype (computed in float32).
  """
  channels = x.shape[-1]
  scale = style[:, None, None, :channels].astype(jnp.float32)
  bias = style[:, None, None, channels:].astype(jnp.float32)
  return (instance_norm(x) * (scale + 1.0) + bias).astype(x.dtype)


def minibatch_stddev(x: Array, *, group_size: int = 4, num_features: int = 1) -> Array:
  """NVlabs' minibatch standard deviation layer (`minibatch_stddev_layer`, `MinibatchStdLayer`).

  The batch of N = G * M is split into M groups of G samples; group j holds
  samples j, j + M, j + 2M, ... (the reference reshapes N into (G, M)), and
  the channels into `num_features` groups. Per group of samples and of
  channels, the population standard deviation over the group (sqrt(var +
  1e-8)) is averaged over channels and positions, and appended to each of
  its samples as a constant feature map.

  With num_features=1 this is `jaxgan.nn.remedies.minibatch_stddev` except
  for which samples share a group: remedies groups consecutive samples
  (0..G-1, ...). With shuffled batches the two are equivalent in
  distribution; this one keeps the reference's grouping.

  Args:
    x: (N, H, W, C).
    group_size: G; a batch smaller than it forms one group.
    num_features: feature maps appended; must divide C.

  Returns:
    (N, H, W, C + num_features).

  Raises:
    ValueError: if the group does not divide N or num_features does not divide C.
  """
  n, h, w, c = x.shape
  group = min(group_size, n)
  if n % group or c % num_features:
    raise ValueError(
      f'minibatch_stddev: group size {group} must divide the batch ({n}) and num_features '
      f'{num_features} the channels ({c}).'
    )
  y = x.reshape(group, n // group, h, w, num_features, c // num_features).astype(jnp.float32)
  std = jnp.sqrt(jnp.var(y, axis=0) + 1e-8)  # (M, H, W, F, c)
  stat = jnp.mean(std, axis=(1, 2, 4))  # (M, F)
  stat = jnp.tile(stat, (group, 1)).astype(x.dtype)  # Sample i gets group i % M.
  stat = jnp.broadcast_to(stat[:, None, None, :], (n, h, w, num_features))
  return jnp.concatenate([x, stat], axis=-1)


# ---------------------------------------------------------------------------
# Equalised learning-rate layers.


def _equalized_init(lr_multiplier: float) -> Callable[..., Array]:
  return initializers.normal_init(stddev=1.0 / lr_multiplier)


class EqualizedDense(nn.Module):
  """Dense layer with equalised learning rate (`dense` + `apply_bias`, `FullyConnectedLayer`).

  y = x @ (kernel * gain * lr_multiplier / sqrt(fan_in)) + bias * lr_multiplier,
  with the kernel stored N(0, 1/lr_multiplier^2) and the bias stored at
  `bias_init`. No activation: callers apply it.

  Attributes:
    features: output features.
    gain: sqrt(2) ahead of a LeakyReLU (StyleGAN's form), 1 before a linear
      output or StyleGAN2's activation (which multiplies by sqrt(2) after).
    lr_multiplier: scales the layer's effective learning rate.
    use_bias: whether to add a bias.
    bias_init: stored initial bias; the effective one is bias_init * lr_multiplier.
    dtype: the computation's dtype (the parameters stay float32).
  """

  features: int
  gain: float = SQRT2
  lr_multiplier: float = 1.0
  use_bias: bool = True
  bias_init: float = 0.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """Args: x, (..., fan_in). Returns: (..., features), in `dtype`."""
    fan_in = x.shape[-1]
    kernel = self.param('kernel', _equalized_init(self.lr_multiplier), (fan_in, self.features))
    kernel = kernel * (self.gain * self.lr_multiplier / math.sqrt(fan_in))
    y = x.astype(self.dtype) @ kernel.astype(self.dtype)
    if self.use_bias:
      bias = self.param('bias', nn.initializers.constant(self.bias_init), (self.features,))
      y = y + (bias * self.lr_multiplier).astype(self.dtype)
    return y


def _box_summed_kernel(kernel: Array) -> Array:
  """k x k -> (k + 1) x (k + 1): the sum of the kernel at its 4 offsets in a 2x2 box.

  StyleGAN's fused resampling kernel: in 1-D, [a, b, c] -> [a, a + b, b + c, c].
  """
  padded = jnp.pad(kernel, ((1, 1), (1, 1), (0, 0), (0, 0)))
  return padded[1:, 1:] + padded[:-1, 1:] + padded[1:, :-1] + padded[:-1, :-1]


class EqualizedConv(nn.Module):
  """2-D convolution with equalised learning rate (`conv2d` + `apply_bias`, `Conv2dLayer`).

  The HWIO kernel is stored N(0, 1/lr_multiplier^2) and scaled at run time
  by gain * lr_multiplier / sqrt(k * k * C_in); the bias is stored at
  `bias_init` and scaled by lr_multiplier. No activation.

  `resample` gives StyleGAN's resampling convs (`upscale2d_conv2d`,
  `conv2d_downscale2d`), 'same' padding and an odd kernel only:

  * 'up': nearest 2x upsampling, then the conv.
  * 'down': the conv, then 2x2 average pooling.

  Both are computed as the reference's fused ops (which it uses from
  128x128 on) compute them, with 2.25 times fewer multiplications: 'up' as
  a stride-2 transposed conv with the (k + 1)-wide box-summed kernel, 'down'
  as a stride-2 conv with the box-summed kernel / 4. With zero padding
  these are exactly the separate ops, borders included (tested); for 'up'
  that takes the kernel flipped before summing, which the reference's fused
  op does not do (its fused and separate ops differ by that relabelling).

  Attributes:
    features: output channels.
    kernel_size: square kernel side.
    gain: as `EqualizedDense`.
    lr_multiplier: as `EqualizedDense`.
    use_bias: whether to add a bias.
    bias_init: as `EqualizedDense`.
    stride: stride on H and W (without resampling).
    padding: zeros on each side; None: kernel_size // 2 ('same' at stride 1).
    resample: None, 'up' or 'down'.
    conv_implementation: `convolutions` implementation ('auto', 'fast', 'xla').
    dtype: the computation's dtype (the parameters stay float32).
  """

  features: int
  kernel_size: int
  gain: float = SQRT2
  lr_multiplier: float = 1.0
  use_bias: bool = True
  bias_init: float = 0.0
  stride: int = 1
  padding: int | None = None
  resample: str | None = None
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """Args: x, NHWC. Returns: `dtype` NHWC, `features` channels (2x or 1/2x with resample)."""
    conv2d, conv_transpose2d = convolutions.operations(self.conv_implementation)
    k = self.kernel_size
    kernel = self.param(
      'kernel', _equalized_init(self.lr_multiplier), (k, k, x.shape[-1], self.features)
    )
    kernel = kernel * (self.gain * self.lr_multiplier / math.sqrt(k * k * x.shape[-1]))
    x = x.astype(self.dtype)
    padding = k // 2 if self.padding is None else self.padding
    # Kernels are scaled and box-summed in float32, then cast.
    cast = lambda kernel: kernel.astype(self.dtype)
    if self.resample is None:
      y = conv2d(x, cast(kernel), stride=self.stride, padding=padding)
    elif self.resample in ('up', 'down') and k % 2 and self.padding is None and self.stride == 1:
      if self.resample == 'up':
        # Output phase a of pixel m sees x[m - 1 + a], x[m + a] through sums
        # of taps; the transposed conv runs its kernel backwards, hence the flip.
        summed = _box_summed_kernel(kernel[::-1, ::-1])
        y = conv_transpose2d(x, cast(summed), stride=2, padding=padding)
      else:
        y = conv2d(x, cast(_box_summed_kernel(kernel) * 0.25), stride=2, padding=padding)
    else:
      raise ValueError(
        f"resample must be None, 'up' or 'down' (with an odd kernel, default padding and "
        f'stride 1), got {self.resample!r} with kernel {k}, padding {self.padding}, '
        f'stride {self.stride}.'
      )
    if self.use_bias:
      bias = self.param('bias', nn.initializers.constant(self.bias_init), (self.features,))
      y = y + (bias * self.lr_multiplier).astype(self.dtype)
    return y


# ---------------------------------------------------------------------------
# Mapping network and the style helpers.


class MappingNetwork(nn.Module):
  """z -> w: pixel norm of z, then `num_layers` equalised dense layers with LeakyReLU(0.2).

  Attributes:
    z_dim: dimension of z.
    w_dim: dimension of w, and of every hidden layer (both references' default).
    num_layers: dense layers.
    lr_multiplier: every layer's learning-rate multiplier (0.01 in both papers).
    gain_after_activation: StyleGAN2's form, sqrt(2) lrelu(W x + b); False:
      StyleGAN's, lrelu(sqrt(2) W x + b).
  """

  z_dim: int = 512
  w_dim: int = 512
  num_layers: int = 8
  lr_multiplier: float = 0.01
  gain_after_activation: bool = False

  @nn.compact
  def __call__(self, z: Array) -> Array:
    """Args: z, (B, z_dim). Returns: w, (B, w_dim)."""
    if z.shape[-1] != self.z_dim:
      raise ValueError(f'MappingNetwork expects z of shape (B, {self.z_dim}), got {z.shape}.')
    x = pixel_norm(z.astype(jnp.float32))
    gain, after = (1.0, SQRT2) if self.gain_after_activation else (SQRT2, 1.0)
    for i in range(self.num_layers):
      dense = EqualizedDense(
        self.w_dim, gain=gain, lr_multiplier=self.lr_multiplier, name=f'dense_{i}'
      )
      x = lrelu(dense(x)) * after
    return x


def num_ws(resolution: int) -> int:
  """Ws the synthesis network takes at a resolution: 2 log2(resolution) - 2.

  StyleGAN: one per layer (two per resolution from 4x4 on). StyleGAN2: one
  per conv layer (one at 4x4, two above) plus one for the last toRGB (the
  other toRGBs share the next conv's).
  """
  return 2 * int(math.log2(resolution)) - 2


def broadcast_ws(w: Array, count: int) -> Array:
  """(B, w_dim) -> (B, count, w_dim): the same w for every layer."""
  return jnp.broadcast_to(w[:, None, :], (w.shape[0], count, w.shape[-1]))


def mix_styles(ws: Array, ws_other: Array, crossover: Array) -> Array:
  """Style mixing: layers from `crossover` on take `ws_other`.

  Args:
    ws, ws_other: (B, num_ws, w_dim).
    crossover: int (B,): the first layer of each example that takes
      ws_other; num_ws (or more) keeps ws throughout, 0 takes ws_other throughout.

  Returns:
    (B, num_ws, w_dim).
  """
  layer = jnp.arange(ws.shape[1])
  return jnp.where((layer[None, :] >= crossover[:, None])[..., None], ws_other, ws)


def truncate(ws: Array, w_avg: Array, psi: float | Array, cutoff: int | None = None) -> Array:
  """The truncation trick: w_avg + psi (ws - w_avg) on layers below `cutoff`.

  Args:
    ws: (B, num_ws, w_dim).
    w_avg: (w_dim,), the running mean of w.
    psi: 1 leaves ws unchanged, 0 gives w_avg.
    cutoff: layers from this one on are left unchanged; None truncates all.

  Returns:
    (B, num_ws, w_dim).
  """
  truncated = w_avg + psi * (ws - w_avg)
  if cutoff is None:
    return truncated
  layer = jnp.arange(ws.shape[1])
  return jnp.where((layer < cutoff)[None, :, None], truncated, ws)


# ---------------------------------------------------------------------------
# Synthesis layers.


# Key implementations whose batched (vmapped) draws are a function of each
# key alone. Under vmap the RBG implementations draw for the whole batch at
# once (measured with jax 0.10.2: example 1's noise did not change with its
# key, and changed with the batch), which would break per-example noise.
PER_EXAMPLE_KEY_IMPLS = ('threefry2x32',)


def draw_noise(noise_keys: Array | None, layer: int, shape: tuple[int, int]) -> Array | None:
  """Per-example standard normal noise (B, H, W, 1) from each key folded with `layer`.

  Args:
    noise_keys: (B,) typed threefry PRNG keys (JAX's default), or None.
    layer: the layer's index.
    shape: (H, W).

  Returns:
    (B, H, W, 1) float32, or None when noise_keys is None.

  Raises:
    ValueError: for keys of another implementation (RBG), whose batched
      draws are not per-example.
  """
  if noise_keys is None:
    return None
  impl = str(jax.random.key_impl(noise_keys))
  if impl not in PER_EXAMPLE_KEY_IMPLS:
    raise ValueError(
      f'noise_keys are {impl} keys, whose draws under vmap are not a function of each '
      f"example's key alone; make them with jax.random.key(seed) (threefry, JAX's default)."
    )
  draw = lambda key: initializers.normal(jax.random.fold_in(key, layer), shape + (1,))
  return jax.vmap(draw)(noise_keys)


def noise_key_data(key: jax.Array, first: int, count: int) -> np.ndarray:
  """uint32 (count, 2) data of threefry keys `key` folded with first, first + 1, ...

  Sample inputs are plain arrays (the loop slices and places them); `sample`
  wraps them back into keys.
  """
  keys = parallel.example_keys(key, first_example=first, batch_size=count)
  return np.asarray(jax.random.key_data(keys))


class AdaINLayer(nn.Module):
  """One StyleGAN layer: [upsample] conv [blur], then noise, bias, LeakyReLU, IN, AdaIN.

  Attributes:
    features: output channels.
    layer_index: the layer's index, folded into the noise keys.
    conv: False for the first layer, which works on the learned constant.
    upsample: nearest 2x upsampling before the conv and the [1, 2, 1] blur
      after (StyleGAN's `upscale2d_conv2d` then `blur2d`; see `EqualizedConv`).
    conv_implementation: `convolutions` implementation.
    dtype: the computation's dtype; the style and AdaIN are float32.
  """

  features: int
  layer_index: int
  conv: bool = True
  upsample: bool = False
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: Array, w: Array, noise_keys: Array | None) -> Array:
    """Args: x, NHWC; w, (B, w_dim); noise_keys, (B,) keys or None. Returns: NHWC, in `dtype`."""
    x = x.astype(self.dtype)
    if self.conv:
      x = EqualizedConv(
        self.features,
        3,
        use_bias=False,  # The bias comes after the blur and the noise.
        resample='up' if self.upsample else None,
        conv_implementation=self.conv_implementation,
        dtype=self.dtype,
        name='conv',
      )(x)
      if self.upsample:
        x = blur2d(x)
    channels = x.shape[-1]
    noise_weight = self.param('noise_weight', nn.initializers.zeros_init(), (channels,))
    noise = draw_noise(noise_keys, self.layer_index, x.shape[1:3])
    if noise is not None:
      x = x + (noise * noise_weight).astype(self.dtype)
    x = x + self.param('bias', nn.initializers.zeros_init(), (channels,)).astype(self.dtype)
    x = lrelu(x)
    style = EqualizedDense(2 * channels, gain=1.0, name='style')(w)
    return adaptive_instance_norm(x, style)


def modulated_conv2d(
  x: Array,
  weight: Array,
  styles: Array,
  *,
  demodulate: bool = True,
  up: bool = False,
  conv_implementation: str = 'auto',
) -> Array:
  """StyleGAN2's modulated convolution, computed the non-fused way.

  Mathematically the conv of x with per-sample weights w'[b] = w * s[b] (s
  on the input channels), divided, with demodulation, by d[b, o] =
  sqrt(sum over kh, kw, i of w'[b]^2 + 1e-8). Computed as the reference's
  `fused_modconv=False` path: the activations are scaled by the styles,
  one conv with the shared weight, the outputs scaled by 1 / d, so the
  conv is an ordinary one and stays on the fast path.

  Upsampling (the reference's `conv2d_resample(up=2)`): a stride-2
  transposed conv without padding (2H + 1), then the [1, 3, 3, 1] filter
  with gain 4 and one zero of padding on each side (2H).

  Args:
    x: (B, H, W, I), in the computation's dtype.
    weight: (k, k, I, O), used as is (no equalised-lr scale: demodulation
      makes the layer invariant to it).
    styles: (B, I).
    demodulate: divide by d.
    up: upsample 2x.
    conv_implementation: `convolutions` implementation.

  Returns:
    (B, H, W, O), or (B, 2H, 2W, O) with up, in x's dtype. The
    demodulation's d is computed in float32 from float32 styles and weight.
  """
  conv2d, conv_transpose2d = convolutions.operations(conv_implementation)
  dtype = x.dtype
  x = x * styles[:, None, None, :].astype(dtype)
  k = weight.shape[0]
  if up:
    x = conv_transpose2d(x, weight.astype(dtype), stride=2, padding=0)
    x = fir_filter2d(x, FIR_TAPS, (1, 1), gain=4.0)
  else:
    x = conv2d(x, weight.astype(dtype), padding=k // 2)
  if demodulate:
    # sum_{kh,kw,i} (w s_i)^2 = sum_i s_i^2 sum_{kh,kw} w^2: one small matmul.
    power = jnp.square(styles) @ jnp.sum(jnp.square(weight), axis=(0, 1))
    x = x * lax.rsqrt(power + 1e-8)[:, None, None, :].astype(dtype)
  return x


class ModulatedConv(nn.Module):
  """Modulated conv with its affine style map (the core of `SynthesisLayer` and `ToRGBLayer`).

  Styles are EqualizedDense(C_in, gain 1, bias_init 1)(w); the weight is
  stored N(0, 1). Without demodulation (toRGB) the styles are multiplied by
  1 / sqrt(fan_in), as the reference's `ToRGBLayer` does, to keep the
  output's scale. No bias: callers add it.

  Attributes:
    features: output channels.
    kernel_size: square kernel side.
    demodulate: weight demodulation.
    up: 2x upsampling (see `modulated_conv2d`).
    conv_implementation: `convolutions` implementation.
    dtype: the convolution's dtype; the styles are float32.
  """

  features: int
  kernel_size: int = 3
  demodulate: bool = True
  up: bool = False
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: Array, w: Array) -> Array:
    """Args: x, NHWC; w, (B, w_dim). Returns: NHWC with `features` channels, in `dtype`."""
    channels = x.shape[-1]
    k = self.kernel_size
    styles = EqualizedDense(channels, gain=1.0, bias_init=1.0, name='affine')(w)
    weight = self.param(
      'weight', initializers.normal_init(stddev=1.0), (k, k, channels, self.features)
    )
    if not self.demodulate:
      styles = styles / math.sqrt(k * k * channels)
    return modulated_conv2d(
      x.astype(self.dtype),
      weight,
      styles,
      demodulate=self.demodulate,
      up=self.up,
      conv_implementation=self.conv_implementation,
    )


class ModulatedLayer(nn.Module):
  """One StyleGAN2 layer (`SynthesisLayer`): modulated conv, noise, bias, sqrt(2) LeakyReLU.

  Attributes:
    features: output channels.
    layer_index: the layer's index, folded into the noise keys.
    up: 2x upsampling.
    conv_implementation: `convolutions` implementation.
    dtype: the computation's dtype.
  """

  features: int
  layer_index: int
  up: bool = False
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: Array, w: Array, noise_keys: Array | None) -> Array:
    """Args: x, NHWC; w, (B, w_dim); noise_keys, (B,) keys or None. Returns: NHWC, in `dtype`."""
    x = ModulatedConv(
      self.features,
      3,
      up=self.up,
      conv_implementation=self.conv_implementation,
      dtype=self.dtype,
      name='conv',
    )(x, w)
    strength = self.param('noise_strength', nn.initializers.zeros_init(), ())
    noise = draw_noise(noise_keys, self.layer_index, x.shape[1:3])
    if noise is not None:
      x = x + (noise * strength).astype(self.dtype)
    x = x + self.param('bias', nn.initializers.zeros_init(), (self.features,)).astype(self.dtype)
    return lrelu(x) * SQRT2


class SynthesisNetwork(nn.Module):
  """ws -> images: StyleGAN's ('adain') or StyleGAN2's ('modulated') synthesis network.

  Attributes:
    resolution: output side, a power of 2, at least 8.
    channels: image channels.
    style: 'adain' (StyleGAN) or 'modulated' (StyleGAN2).
    architecture: 'orig' (one toRGB at the end) or 'skip' (a toRGB per
      resolution, summed); None: the style's reference default ('orig' for
      'adain', 'skip' for 'modulated').
    fmap_base: None: the style's reference default (8192, 32768).
    fmap_max: the most channels of any layer.
    conv_implementation: `convolutions` implementation ('auto', 'fast', 'xla').
    dtype: what the layers compute in (float32 or bfloat16); the styles, the
      normalisations' statistics and the image stay float32 (module docstring).
  """

  resolution: int
  channels: int = 3
  style: str = 'modulated'
  architecture: str | None = None
  fmap_base: int | None = None
  fmap_max: int = 512
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32

  @property
  def num_ws(self) -> int:
    """How many ws `__call__` takes: `num_ws(resolution)`."""
    return num_ws(self.resolution)

  def features(self, resolution: int) -> int:
    """Channels of the layers at a resolution, by the style's reference's stage index."""
    base = self.fmap_base or DEFAULT_FMAP_BASE[self.style]
    stage = int(math.log2(resolution)) - (1 if self.style == 'adain' else 0)
    return nf(stage, base, self.fmap_max)

  def _check(self) -> str:
    if self.style not in STYLES:
      raise ValueError(f'style must be one of {STYLES}, got {self.style!r}.')
    architecture = self.architecture or ('orig' if self.style == 'adain' else 'skip')
    if architecture not in SYNTHESIS_ARCHITECTURES:
      raise ValueError(
        f'architecture must be one of {SYNTHESIS_ARCHITECTURES}, got {architecture!r}.'
      )
    if self.resolution < 8 or self.resolution & (self.resolution - 1):
      raise ValueError(f'resolution must be a power of 2, at least 8, got {self.resolution}.')
    return architecture

  @nn.compact
  def __call__(self, ws: Array, noise_keys: Array | None = None) -> Array:
    """Synthesises images.

    Args:
      ws: (B, num_ws, w_dim).
      noise_keys: (B,) typed threefry PRNG keys, one per example, or None for
        no noise.

    Returns:
      Images (B, resolution, resolution, channels), float32, unbounded (the
      references apply no tanh; training keeps them near [-1, 1]).

    Raises:
      ValueError: for an unknown style or architecture, a bad resolution or
        ws of the wrong shape.
    """
    architecture = self._check()
    if ws.ndim != 3 or ws.shape[1] != self.num_ws:
      raise ValueError(
        f'SynthesisNetwork at {self.resolution} takes ws of shape (B, {self.num_ws}, w_dim), '
        f'got {ws.shape}; broadcast w with broadcast_ws(w, {self.num_ws}).'
      )
    ws = ws.astype(jnp.float32)
    log2 = int(math.log2(self.resolution))
    if self.style == 'adain':
      return self._adain(ws, noise_keys, architecture, log2)
    return self._modulated(ws, noise_keys, architecture, log2)

  def _adain(self, ws, noise_keys, architecture, log2):
    impl = self.conv_implementation
    batch = ws.shape[0]

    def to_rgb(x, res):
      return EqualizedConv(
        self.channels, 1, gain=1.0, conv_implementation=impl, dtype=self.dtype, name=f'to_rgb_{res}'
      )(x).astype(jnp.float32)

    const = self.param('const', nn.initializers.ones_init(), (4, 4, self.features(4)))
    x = jnp.broadcast_to(const, (batch,) + const.shape)
    x = AdaINLayer(self.features(4), 0, conv=False, dtype=self.dtype, name='layer_0')(
      x, ws[:, 0], noise_keys
    )
    x = AdaINLayer(self.features(4), 1, conv_implementation=impl, dtype=self.dtype, name='layer_1')(
      x, ws[:, 1], noise_keys
    )
    image = to_rgb(x, 4) if architecture == 'skip' else None
    for r in range(3, log2 + 1):
      res, i = 2**r, 2 * r - 4
      for j, upsample in ((i, True), (i + 1, False)):
        x = AdaINLayer(
          self.features(res),
          j,
          upsample=upsample,
          conv_implementation=impl,
          dtype=self.dtype,
          name=f'layer_{j}',
        )(x, ws[:, j], noise_keys)
      if architecture == 'skip':
        image = upsample2d(image) + to_rgb(x, res)
    return to_rgb(x, self.resolution) if architecture == 'orig' else image

  def _modulated(self, ws, noise_keys, architecture, log2):
    impl = self.conv_implementation
    batch = ws.shape[0]

    def to_rgb(x, w, res):
      y = ModulatedConv(
        self.channels,
        1,
        demodulate=False,
        conv_implementation=impl,
        dtype=self.dtype,
        name=f'to_rgb_{res}',
      )(x, w).astype(jnp.float32)
      return y + self.param(f'to_rgb_{res}_bias', nn.initializers.zeros_init(), (self.channels,))

    const = self.param('const', initializers.normal_init(stddev=1.0), (4, 4, self.features(4)))
    x = jnp.broadcast_to(const, (batch,) + const.shape)
    x = ModulatedLayer(
      self.features(4), 0, conv_implementation=impl, dtype=self.dtype, name='layer_0'
    )(x, ws[:, 0], noise_keys)
    # The toRGB after conv layer j takes w j + 1, which the next conv shares.
    image = to_rgb(x, ws[:, 1], 4) if architecture == 'skip' else None
    for r in range(3, log2 + 1):
      res, i = 2**r, 2 * r - 5
      for j, up in ((i, True), (i + 1, False)):
        x = ModulatedLayer(
          self.features(res),
          j,
          up=up,
          conv_implementation=impl,
          dtype=self.dtype,
          name=f'layer_{j}',
        )(x, ws[:, j], noise_keys)
      if architecture == 'skip':
        image = upsample2d(image) + to_rgb(x, ws[:, i + 2], res)
    if architecture == 'orig':
      image = to_rgb(x, ws[:, -1], self.resolution)
    return image


# ---------------------------------------------------------------------------
# Discriminator.


class Discriminator(nn.Module):
  """Images -> logits: StyleGAN's D ('orig') or StyleGAN2's residual D ('resnet').

  'orig' (`D_basic`, fixed structure): fromRGB (1x1, LeakyReLU), then per
  resolution from the image's down to 8: conv 3x3, then blur [1, 2, 1],
  conv 3x3, 2x2 average pooling (computed fused, see `EqualizedConv`),
  bias, LeakyReLU; at
  4x4: minibatch stddev, conv 3x3, dense, dense to one logit. Gains sqrt(2)
  in the weights.

  'resnet' (StyleGAN2-ADA's default): fromRGB (1x1), then per resolution
  conv 3x3 and a 2x-downsampling conv 3x3 (FIR [1, 3, 3, 1] with 2 zeros of
  padding, then stride 2), added to a skip branch (FIR 2x downsampling, 1x1
  conv without bias), the sum times sqrt(0.5); the same 4x4 epilogue.
  Activations are LeakyReLU times sqrt(2).

  Attributes:
    resolution: image side, a power of 2, at least 8.
    channels: image channels.
    architecture: 'orig' or 'resnet'.
    fmap_base: None: the reference's default (8192, 32768).
    fmap_max: the most channels of any layer.
    mbstd_group_size: samples per minibatch stddev group (0: no such layer).
    mbstd_num_features: feature maps it appends.
    conv_implementation: `convolutions` implementation ('auto', 'fast', 'xla').
    dtype: what the layers above 4x4 compute in (float32 or bfloat16); the
      4x4 epilogue (minibatch stddev, conv, dense layers) is float32.
  """

  resolution: int
  channels: int = 3
  architecture: str = 'resnet'
  fmap_base: int | None = None
  fmap_max: int = 512
  mbstd_group_size: int = 4
  mbstd_num_features: int = 1
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32

  def features(self, stage: int) -> int:
    """nf(stage) with this D's fmap_base and fmap_max."""
    return nf(stage, self.fmap_base or DEFAULT_FMAP_BASE[self.architecture], self.fmap_max)

  @nn.compact
  def __call__(self, images: Array) -> Array:
    """Scores images.

    Args:
      images: (B, resolution, resolution, channels).

    Returns:
      Logits (B,), float32.

    Raises:
      ValueError: for an unknown architecture or images of the wrong size.
    """
    if self.architecture not in DISCRIMINATOR_ARCHITECTURES:
      raise ValueError(
        f'architecture must be one of {DISCRIMINATOR_ARCHITECTURES}, got {self.architecture!r}.'
      )
    if self.resolution < 8 or self.resolution & (self.resolution - 1):
      raise ValueError(f'resolution must be a power of 2, at least 8, got {self.resolution}.')
    if images.shape[1:] != (self.resolution, self.resolution, self.channels):
      raise ValueError(
        f'Discriminator expects images of shape (B, {self.resolution}, {self.resolution}, '
        f'{self.channels}), got {images.shape}.'
      )
    x = images.astype(jnp.float32)
    log2 = int(math.log2(self.resolution))
    orig = self.architecture == 'orig'
    # StyleGAN's layers carry the activation gain in the weights, StyleGAN2's after it.
    gain, act = (SQRT2, lrelu) if orig else (1.0, lambda y: lrelu(y) * SQRT2)
    conv = lambda *a, **k: EqualizedConv(
      *a,
      **{'gain': gain, 'conv_implementation': self.conv_implementation, 'dtype': self.dtype, **k},
    )
    # Channels at resolution 2**r: nf(r - 1) in StyleGAN, nf(r) in StyleGAN2.
    at = (lambda r: self.features(r - 1)) if orig else (lambda r: self.features(r))

    x = act(conv(at(log2), 1, name='from_rgb')(x))
    for r in range(log2, 2, -1):
      res = 2**r
      if orig:
        x = act(conv(at(r), 3, name=f'conv_{res}_0')(x))
        y = conv(at(r - 1), 3, use_bias=False, resample='down', name=f'conv_{res}_1')(blur2d(x))
        bias = self.param(f'conv_{res}_1_bias', nn.initializers.zeros_init(), (at(r - 1),))
        x = act(y + bias)
      else:
        skip = conv(at(r - 1), 1, gain=1.0, use_bias=False, name=f'skip_{res}')
        skip = skip(downsample2d(x))
        y = act(conv(at(r), 3, name=f'conv_{res}_0')(x))
        y = fir_filter2d(y, FIR_TAPS, (2, 2))
        y = act(conv(at(r - 1), 3, stride=2, padding=0, name=f'conv_{res}_1')(y))
        x = (skip + y) * math.sqrt(0.5)

    x = x.astype(jnp.float32)
    if self.mbstd_group_size > 0 and self.mbstd_num_features > 0:
      x = minibatch_stddev(
        x, group_size=self.mbstd_group_size, num_features=self.mbstd_num_features
      )
    x = act(conv(at(2), 3, dtype=jnp.float32, name='conv_4')(x))
    x = x.reshape(x.shape[0], -1)
    x = act(EqualizedDense(at(1) if orig else at(2), gain=gain, name='dense_4')(x))
    logits = EqualizedDense(1, gain=1.0, name='logits')(x)
    return logits[:, 0].astype(jnp.float32)
