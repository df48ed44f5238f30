"""DCGAN (Radford et al. 2015): the all-convolutional generator and discriminator.

Generator: project z with a dense layer to a small feature map, then double
its size with stride-2 4x4 transposed convolutions, BatchNorm and ReLU
throughout, tanh at the output. Discriminator: stride-2 4x4 convolutions with
LeakyReLU(0.2) and BatchNorm on all but the first, then one logit. Every
weight starts from N(0, 0.02), BatchNorm scales from N(1, 0.02).

Two presets, as `functools.partial` aliases below:
- 28x28 (MNIST-like): 7x7x256 -> 14x14x128 -> 28x28x64 -> 3x3 conv to C;
  D 28 -> 14x14x64 -> 7x7x128 -> logit.
- 64x64 (the paper's LSUN/CelebA network): 4x4x512 -> 8x8x256 -> 16x16x128
  -> 32x32x64 -> 64x64xC; D 64 -> 32x32x64 -> ... -> 4x4x512 -> logit.

The paper's first generator layer, a 4x4 transposed convolution of a 1x1
input, and the discriminator's last, a 4x4 valid convolution of a 4x4 map,
are dense layers in another shape; they are written as dense layers here.
"""

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import layers

# Radford et al. 2015, section 4: "All weights were initialized from a
# zero-centered Normal distribution with standard deviation 0.02."
_weight_init = nn.initializers.normal(stddev=0.02)


def _batch_norm_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


class DCGANGenerator(nn.Module):
  """Maps a latent vector z to an image in [-1, 1].

  Attributes:
    channels: channels of the images produced.
    stem_size: height and width of the first feature map.
    features: channels of the first feature map and of each map after it;
      each map after the first is twice the size of the one before.
    upsample_to_image: whether the last layer is a stride-2 transposed
      convolution to `channels` (the 64x64 network) rather than a 3x3
      convolution at the size of the last feature map (the 28x28 network).
    conv_implementation: `layers.Conv` implementation ('auto', 'fast', 'xla').
    batch_norm_axis_name: mesh axis over which BatchNorm averages its
      statistics (the global batch under data parallelism), or None.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  channels: int
  stem_size: int
  features: Sequence[int]
  upsample_to_image: bool
  conv_implementation: str = 'auto'
  batch_norm_axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @property
  def image_shape(self) -> tuple[int, int, int]:
    doublings = len(self.features) - 1 + int(self.upsample_to_image)
    size = self.stem_size * 2**doublings
    return (size, size, self.channels)

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
    batch_norm = functools.partial(
      nn.BatchNorm,
      use_running_average=not train,
      momentum=0.9,
      epsilon=1e-5,
      axis_name=self.batch_norm_axis_name,
      scale_init=_batch_norm_scale_init,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )
    conv_transpose = functools.partial(
      layers.ConvTranspose,
      kernel_size=4,
      stride=2,
      padding=1,
      kernel_init=_weight_init,
      implementation=self.conv_implementation,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )

    x = nn.Dense(
      self.stem_size**2 * self.features[0],
      use_bias=False,
      kernel_init=_weight_init,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      name='project',
    )(z)
    x = x.reshape((z.shape[0], self.stem_size, self.stem_size, self.features[0]))
    x = nn.relu(batch_norm(name='project_batch_norm')(x))
    for i, features in enumerate(self.features[1:]):
      x = conv_transpose(features, use_bias=False, name=f'upsample_{i}')(x)
      x = nn.relu(batch_norm(name=f'upsample_{i}_batch_norm')(x))
    if self.upsample_to_image:
      x = conv_transpose(self.channels, name='to_image')(x)
    else:
      x = layers.Conv(
        self.channels,
        kernel_size=3,
        stride=1,
        padding=1,
        kernel_init=_weight_init,
        implementation=self.conv_implementation,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name='to_image',
      )(x)
    return jnp.tanh(x)


class DCGANDiscriminator(nn.Module):
  """Maps an image to one logit.

  Attributes:
    features: channels after each stride-2 convolution.
    conv_implementation: `layers.Conv` implementation ('auto', 'fast', 'xla').
    batch_norm_axis_name: mesh axis over which BatchNorm averages its
      statistics, or None.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  features: Sequence[int]
  conv_implementation: str = 'auto'
  batch_norm_axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    x = images
    for i, features in enumerate(self.features):
      # The paper leaves BatchNorm out of D's first layer: normalising the
      # input layer made its samples oscillate.
      x = layers.Conv(
        features,
        kernel_size=4,
        stride=2,
        padding=1,
        use_bias=i == 0,
        kernel_init=_weight_init,
        implementation=self.conv_implementation,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name=f'downsample_{i}',
      )(x)
      if i > 0:
        x = nn.BatchNorm(
          use_running_average=not train,
          momentum=0.9,
          epsilon=1e-5,
          axis_name=self.batch_norm_axis_name,
          scale_init=_batch_norm_scale_init,
          dtype=self.dtype,
          param_dtype=self.param_dtype,
          name=f'downsample_{i}_batch_norm',
        )(x)
      x = nn.leaky_relu(x, 0.2)
    x = x.reshape((x.shape[0], -1))
    logits = nn.Dense(
      1, kernel_init=_weight_init, dtype=self.dtype, param_dtype=self.param_dtype, name='to_logit'
    )(x)
    return logits[:, 0].astype(jnp.float32)


# Size presets: the network for 28x28 images (MNIST, Fashion-MNIST) and the
# paper's network for 64x64 images (LSUN bedrooms, CelebA).
Generator28 = functools.partial(
  DCGANGenerator, stem_size=7, features=(256, 128, 64), upsample_to_image=False
)
Discriminator28 = functools.partial(DCGANDiscriminator, features=(64, 128))
Generator64 = functools.partial(
  DCGANGenerator, stem_size=4, features=(512, 256, 128, 64), upsample_to_image=True
)
Discriminator64 = functools.partial(DCGANDiscriminator, features=(64, 128, 256, 512))
