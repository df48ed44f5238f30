"""CycleGAN's networks (Zhu et al. 2017): the ResNet generator and the 70x70 PatchGAN.

Ported from junyanz/pytorch-CycleGAN-and-pix2pix, `models/networks.py`
(`ResnetGenerator`, `ResnetBlock`, `NLayerDiscriminator`, `init_weights`),
with the options CycleGAN trains with by default: `--netG resnet_9blocks
--netD basic --norm instance --no_dropout --init_type normal
--init_gain 0.02`. NHWC instead of NCHW; otherwise layer for layer.

Generator (Johnson et al. 2016's architecture): reflection pad 3, 7x7 conv
to ngf, two stride-2 3x3 convs to 2ngf and 4ngf, `num_blocks` residual
blocks at 4ngf, two stride-2 3x3 transposed convs (output_padding 1, so
each exactly doubles) back to ngf, reflection pad 3, 7x7 conv to the image
channels, tanh. Every conv but the last is followed by InstanceNorm and
ReLU. H and W must be multiples of 4.

Discriminator: the PatchGAN, 4x4 convs with LeakyReLU(0.2): `num_layers`
with stride 2 (InstanceNorm on all but the first), one with stride 1, and a
stride-1 conv to one logit per patch. With 3 layers each logit sees a
70x70 window, and a 256x256 image gives 30x30 logits.

InstanceNorm is PyTorch's `InstanceNorm2d` default: no affine parameters,
no running statistics, eps 1e-5, biased variance. Because it has no shift,
the reference keeps every conv's bias. Conv weights start from
N(0, 0.02), biases from 0.

Parameters at the defaults (ngf = ndf = 64, RGB to RGB): the generator with
9 blocks has 11,378,179, the discriminator 2,764,737: the 11.378 M and
2.765 M the reference prints.
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn import convolutions, initializers

# init_weights(init_type='normal', init_gain=0.02): conv weights from
# N(0, 0.02), biases 0 (the convolution modules' default bias_init).
_weight_init = initializers.normal_init(stddev=0.02)

# PyTorch's nn.InstanceNorm2d defaults, which the reference uses: affine=False,
# track_running_stats=False, eps=1e-5; Flax's variance is the biased one too.
instance_norm = functools.partial(nn.InstanceNorm, use_scale=False, use_bias=False, epsilon=1e-5)

# What the generator's image sides must divide by: two stride-2
# downsamplings are undone by two 2x upsamplings.
SIDE_MULTIPLE = 4


def reflection_pad(x: jax.Array, pad: int) -> jax.Array:
  """Pads H and W of an NHWC array by reflection, as PyTorch's `ReflectionPad2d`.

  The edge row is not repeated: [1, 2, 3] padded by 2 is [3, 2, 1, 2, 3, 2, 1]
  (NumPy's 'reflect' mode).

  Args:
    x: an array (..., H, W, C).
    pad: rows (columns) added on each side of H (W).

  Returns:
    The array (..., H + 2 * pad, W + 2 * pad, C).

  Raises:
    ValueError: if pad is not less than H and W, as in PyTorch (a reflection
      cannot reach further than the far edge).
  """
  height, width = x.shape[-3:-1]
  if pad >= min(height, width):
    raise ValueError(
      f'reflection padding {pad} needs height and width above {pad}, got {height}x{width}.'
    )
  widths = [(0, 0)] * (x.ndim - 3) + [(pad, pad), (pad, pad), (0, 0)]
  return jnp.pad(x, widths, mode='reflect')


class ResnetBlock(nn.Module):
  """x + (reflect pad, 3x3 conv, IN, ReLU, reflect pad, 3x3 conv, IN)(x), same channels.

  Attributes:
    conv_implementation: `convolutions.Conv` implementation ('auto', 'fast', 'xla').
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    conv = functools.partial(
      convolutions.Conv,
      x.shape[-1],
      kernel_size=3,
      kernel_init=_weight_init,
      implementation=self.conv_implementation,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )
    norm = functools.partial(instance_norm, dtype=self.dtype, param_dtype=self.param_dtype)
    # No dropout between the convolutions: CycleGAN trains with --no_dropout.
    h = conv(name='conv_0')(reflection_pad(x, 1))
    h = nn.relu(norm(name='conv_0_norm')(h))
    h = conv(name='conv_1')(reflection_pad(h, 1))
    h = norm(name='conv_1_norm')(h)
    return x + h


class ResnetGenerator(nn.Module):
  """Translates NHWC images in [-1, 1] to images in [-1, 1] of the same height and width.

  Attributes:
    out_channels: channels of the images produced.
    filters: ngf, channels after the first conv; 2ngf and 4ngf after the
      downsamplings.
    num_blocks: residual blocks at 4ngf and a quarter of the input size; 9
      for 256x256 images, 6 for 128x128 in the CycleGAN paper.
    conv_implementation: `convolutions.Conv` implementation ('auto', 'fast', 'xla').
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  out_channels: int
  filters: int = 64
  num_blocks: int = 9
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images: jax.Array) -> jax.Array:
    """Translates images.

    Args:
      images: shape (batch, H, W, C), H and W multiples of 4, at least 8.

    Returns:
      Images, shape (batch, H, W, out_channels), in [-1, 1].

    Raises:
      ValueError: if H or W is not a multiple of 4 or is below 8.
    """
    height, width = images.shape[1:3]
    # Each stride-2 conv halves a side rounding up and each upsampling
    # doubles it, so only multiples of 4 come back to H x W; the residual
    # blocks reflect-pad H / 4 by 1, which needs H / 4 >= 2.
    if height % SIDE_MULTIPLE or width % SIDE_MULTIPLE or min(height, width) < 2 * SIDE_MULTIPLE:
      raise ValueError(
        f'ResnetGenerator needs height and width that are multiples of 4 and at least 8 '
        f'(two stride-2 downsamplings are undone by two 2x upsamplings), got '
        f'{height}x{width}; resize or crop the images, e.g. to '
        f'{max(8, height // 4 * 4)}x{max(8, width // 4 * 4)}.'
      )
    kwargs = {'dtype': self.dtype, 'param_dtype': self.param_dtype}
    conv = functools.partial(
      convolutions.Conv,
      kernel_init=_weight_init,
      implementation=self.conv_implementation,
      **kwargs,
    )

    def norm_relu(x, name):
      return nn.relu(instance_norm(name=name, **kwargs)(x))

    x = conv(self.filters, kernel_size=7, name='stem')(reflection_pad(images, 3))
    x = norm_relu(x, 'stem_norm')
    for i in range(2):
      x = conv(
        self.filters * 2 ** (i + 1), kernel_size=3, stride=2, padding=1, name=f'downsample_{i}'
      )(x)
      x = norm_relu(x, f'downsample_{i}_norm')
    for i in range(self.num_blocks):
      x = ResnetBlock(conv_implementation=self.conv_implementation, name=f'block_{i}', **kwargs)(x)
    for i in range(2):
      x = convolutions.ConvTranspose(
        self.filters * 2 ** (1 - i),
        kernel_size=3,
        stride=2,
        padding=1,
        output_padding=1,  # (H - 1) * 2 - 2 + 3 + 1 = 2H: exactly double.
        kernel_init=_weight_init,
        implementation=self.conv_implementation,
        name=f'upsample_{i}',
        **kwargs,
      )(x)
      x = norm_relu(x, f'upsample_{i}_norm')
    x = conv(self.out_channels, kernel_size=7, name='to_image')(reflection_pad(x, 3))
    return jnp.tanh(x)


class PatchDiscriminator(nn.Module):
  """PatchGAN: maps NHWC images to a map of logits, one per overlapping patch.

  Attributes:
    filters: ndf, channels of the first conv; each later one doubles them,
      up to 8 ndf.
    num_layers: stride-2 convs; 3 gives the 70x70 PatchGAN.
    conv_implementation: `convolutions.Conv` implementation ('auto', 'fast', 'xla').
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  filters: int = 64
  num_layers: int = 3
  conv_implementation: str = 'auto'
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def output_size(self, size: int) -> int:
    """Side of the logit map for an input side `size` (below 1: too small)."""
    for _ in range(self.num_layers):
      size = size // 2  # 4x4, stride 2, padding 1: floor((size + 2 - 4) / 2) + 1.
    return size - 2  # Two 4x4 stride-1 padding-1 convs each take one row off.

  @nn.compact
  def __call__(self, images: jax.Array) -> jax.Array:
    """Scores each patch of the images.

    Args:
      images: shape (batch, H, W, C), H and W at least 3 * 2**num_layers.

    Returns:
      Logits, shape (batch, h, w, 1), float32; h = floor(H / 2**num_layers) - 2
      (30 for 256 and 3 layers), and w likewise.

    Raises:
      ValueError: if H or W is too small for a 1x1 map of logits.
    """
    height, width = images.shape[1:3]
    if min(self.output_size(height), self.output_size(width)) < 1:
      raise ValueError(
        f'PatchDiscriminator with num_layers={self.num_layers} needs images of at least '
        f'{3 * 2**self.num_layers}x{3 * 2**self.num_layers} for a 1x1 map of logits, got '
        f'{height}x{width}; use larger images or fewer layers.'
      )
    kwargs = {'dtype': self.dtype, 'param_dtype': self.param_dtype}
    conv = functools.partial(
      convolutions.Conv,
      kernel_size=4,
      padding=1,
      kernel_init=_weight_init,
      implementation=self.conv_implementation,
      **kwargs,
    )
    # As in the reference, no norm after the first conv: it sees the image.
    x = nn.leaky_relu(conv(self.filters, stride=2, name='downsample_0')(images), 0.2)
    for n in range(1, self.num_layers):
      x = conv(self.filters * min(2**n, 8), stride=2, name=f'downsample_{n}')(x)
      x = nn.leaky_relu(instance_norm(name=f'downsample_{n}_norm', **kwargs)(x), 0.2)
    x = conv(self.filters * min(2**self.num_layers, 8), stride=1, name='features')(x)
    x = nn.leaky_relu(instance_norm(name='features_norm', **kwargs)(x), 0.2)
    logits = conv(1, stride=1, name='to_logits')(x)
    return logits.astype(jnp.float32)
