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

Options, all off by default (the networks above, parameter for parameter):

* Class conditioning (`num_classes > 0`): G concatenates a label embedding
  to z (Mirza & Osindero 2014); D either takes a label embedding as one
  more input channel ('concat') or adds <embed(y), phi(x)> to its logit
  ('projection', Miyato & Koyama 2018).
* `spectral_norm` (Miyato et al. 2018) on every convolution and dense
  layer of D; `normalization` picks BatchNorm, LayerNorm or nothing in D.
* The mode-collapse remedies of `jaxgan.nn.remedies` in D: minibatch
  discrimination, minibatch standard deviation, PacGAN packing.

Feature matching (Salimans et al. 2016) reads D's final features phi(x),
the flattened last feature map (after the minibatch standard deviation,
before minibatch discrimination), which D sows as 'features':

  logits, updates = d.apply(variables, x, train=True,
                            mutable=['batch_stats', 'intermediates'])
  phi = updates['intermediates']['features'][0]  # (batch // packing, F)
"""

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn import conditioning, convolutions, initializers, normalization, remedies

# Radford et al. 2015, section 4: "All weights were initialized from a
# zero-centered Normal distribution with standard deviation 0.02."
_weight_init = initializers.normal_init(stddev=0.02)


# What may follow D's convolutions: the paper's BatchNorm, LayerNorm (for the
# penalties, which need D to judge each sample alone), or nothing.
NORMALIZATIONS = ('batch_norm', 'layer_norm', 'none')


def _batch_norm_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


class DCGANGenerator(nn.Module):
  """Maps a latent vector z (and, if conditional, a class label) to an image in [-1, 1].

  Attributes:
    channels: channels of the images produced.
    stem_size: height and width of the first feature map.
    features: channels of the first feature map and of each map after it;
      each map after the first is twice the size of the one before.
    upsample_to_image: whether the last layer is a stride-2 transposed
      convolution to `channels` (the 64x64 network) rather than a 3x3
      convolution at the size of the last feature map (the 28x28 network).
    num_classes: number of classes of a conditional generator; 0 for an
      unconditional one.
    label_embedding_dim: width of the label embedding concatenated to z.
    conv_implementation: `convolutions.Conv` implementation ('auto', 'fast', 'xla').
    batch_norm_axis_name: mesh axis over which BatchNorm averages its
      statistics (the global batch under data parallelism), or None.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  channels: int
  stem_size: int
  features: Sequence[int]
  upsample_to_image: bool
  num_classes: int = 0
  # Any width >= num_classes can give each class its own direction, as a
  # one-hot code would; 50 is half the usual 100-d z, so the label is not
  # drowned out by the noise in the first layer, at a negligible cost.
  label_embedding_dim: int = 50
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
  def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool) -> jax.Array:
    """Generates images.

    Args:
      z: latent vectors, shape (batch, latent_dim).
      labels: int class labels, shape (batch,), if `num_classes > 0`; else None.
      train: whether BatchNorm uses and updates batch statistics.

    Returns:
      Images, shape (batch, *image_shape).

    Raises:
      ValueError: if labels are given to an unconditional generator or
        missing for a conditional one.
    """
    conditioning.check_labels(
      labels, num_classes=self.num_classes, batch=z.shape[0], module='DCGANGenerator'
    )
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
      convolutions.ConvTranspose,
      kernel_size=4,
      stride=2,
      padding=1,
      kernel_init=_weight_init,
      implementation=self.conv_implementation,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )

    x = z
    if self.num_classes:
      # nn.Embed's N(0, 1) initialisation rather than the paper's N(0, 0.02):
      # the label's code then starts at the scale of z instead of 50 times
      # smaller, as in PyTorch ports, whose weight init skips nn.Embedding.
      embedding = nn.Embed(
        self.num_classes,
        self.label_embedding_dim,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name='label_embedding',
      )(labels)
      x = jnp.concatenate([x, embedding], axis=-1)
    x = nn.Dense(
      self.stem_size**2 * self.features[0],
      use_bias=False,
      kernel_init=_weight_init,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      name='project',
    )(x)
    x = x.reshape((z.shape[0], self.stem_size, self.stem_size, self.features[0]))
    x = nn.relu(batch_norm(name='project_batch_norm')(x))
    for i, features in enumerate(self.features[1:]):
      x = conv_transpose(features, use_bias=False, name=f'upsample_{i}')(x)
      x = nn.relu(batch_norm(name=f'upsample_{i}_batch_norm')(x))
    if self.upsample_to_image:
      x = conv_transpose(self.channels, name='to_image')(x)
    else:
      x = convolutions.Conv(
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
  """Maps an image (or a pack of images) to one logit.

  Attributes:
    features: channels after each stride-2 convolution.
    num_classes: number of classes of a conditional discriminator; 0 for an
      unconditional one.
    conditioning: how labels enter when `num_classes > 0`: 'concat' (each
      label is embedded as an H x W map, joined to the image as one more
      input channel) or 'projection' (the logit gains <embed(y), h>, h the
      vector the final dense layer sees).
    spectral_norm: whether every convolution and dense kernel is divided by
      its largest singular value, estimated by one power-iteration step per
      call (state in 'batch_stats', updated when `train`).
    normalization: what follows every convolution but the first:
      'batch_norm' (the paper's), 'layer_norm' (per sample, over H, W and C,
      with a scale and offset per channel: the WGAN-GP replacement, since
      the gradient penalty needs each logit to depend on its own sample
      only) or 'none' (the convolutions then get biases).
    minibatch_discrimination: number of kernels B of
      `remedies.MinibatchDiscrimination` applied to the flattened final
      features before the final dense layer; 0 turns it off.
    minibatch_discrimination_dim: dimension C of each of those kernels.
    minibatch_stddev: group size of `remedies.MinibatchStdDev`, applied to
      the last feature map (one channel appended) before it is flattened;
      0 turns it off.
    packing: PacGAN degree m: m consecutive images are joined along the
      channels (`remedies.pack`) before the first layer, and D returns one
      logit per pack.
    conv_implementation: `convolutions.Conv` implementation ('auto', 'fast', 'xla').
    batch_norm_axis_name: mesh axis over which BatchNorm averages its
      statistics, or None.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  features: Sequence[int]
  num_classes: int = 0
  conditioning: str = 'concat'
  spectral_norm: bool = False
  normalization: str = 'batch_norm'
  # Salimans et al.'s code (openai/improved-gan) uses B = 100 kernels of C = 5.
  minibatch_discrimination: int = 0
  minibatch_discrimination_dim: int = 5
  minibatch_stddev: int = 0
  packing: int = 1
  conv_implementation: str = 'auto'
  batch_norm_axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(
    self, images: jax.Array, labels: jax.Array | None = None, *, train: bool
  ) -> jax.Array:
    """Scores images.

    Args:
      images: shape (batch, H, W, C).
      labels: int class labels, shape (batch,), if `num_classes > 0`; else None.
      train: whether BatchNorm uses and updates batch statistics, and
        spectral normalisation its power iteration.

    Returns:
      Logits, shape (batch // packing,), float32.

    Raises:
      ValueError: on a label misuse (see `conditioning.check_labels`), an
        unknown `conditioning` or `normalization`, or `packing` > 1 with
        `num_classes` > 0.
    """
    conditioning.check_conditioning(self.conditioning)
    if self.normalization not in NORMALIZATIONS:
      raise ValueError(
        f'normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}.'
      )
    conditioning.check_packing(
      self.packing, num_classes=self.num_classes, module='DCGANDiscriminator'
    )
    conditioning.check_labels(
      labels, num_classes=self.num_classes, batch=images.shape[0], module='DCGANDiscriminator'
    )
    kwargs = {'dtype': self.dtype, 'param_dtype': self.param_dtype}

    def spectral_norm(layer, x):
      return normalization.maybe_spectral_norm(
        layer, x, spectral_norm=self.spectral_norm, train=train, param_dtype=self.param_dtype
      )

    x = images
    if self.packing > 1:
      x = remedies.pack(x, self.packing)
    if self.num_classes and self.conditioning == 'concat':
      # One extra input channel costs the first convolution 1/C more work;
      # broadcasting a label embedding over H x W, or one-hot maps (one
      # channel per class), would cost far more for no more information.
      height, width = images.shape[1:3]
      label_maps = nn.Embed(self.num_classes, height * width, name='label_embedding', **kwargs)(
        labels
      )
      label_maps = label_maps.reshape((images.shape[0], height, width, 1)).astype(x.dtype)
      x = jnp.concatenate([x, label_maps], axis=-1)
    for i, features in enumerate(self.features):
      # The paper leaves BatchNorm out of D's first layer: normalising the
      # input layer made its samples oscillate.
      normalized = i > 0 and self.normalization != 'none'
      conv = convolutions.Conv(
        features,
        kernel_size=4,
        stride=2,
        padding=1,
        # A bias before a normalization would be cancelled by its shift.
        use_bias=not normalized,
        kernel_init=_weight_init,
        implementation=self.conv_implementation,
        name=f'downsample_{i}',
        **kwargs,
      )
      x = spectral_norm(conv, x)
      if normalized and self.normalization == 'batch_norm':
        x = nn.BatchNorm(
          use_running_average=not train,
          momentum=0.9,
          epsilon=1e-5,
          axis_name=self.batch_norm_axis_name,
          scale_init=_batch_norm_scale_init,
          name=f'downsample_{i}_batch_norm',
          **kwargs,
        )(x)
      elif normalized and self.normalization == 'layer_norm':
        # As in Gulrajani et al.'s code: statistics over (H, W, C) of each
        # sample, scale and offset per channel.
        x = nn.LayerNorm(
          epsilon=1e-5,
          reduction_axes=(-3, -2, -1),
          feature_axes=-1,
          name=f'downsample_{i}_layer_norm',
          **kwargs,
        )(x)
      x = nn.leaky_relu(x, 0.2)
    if self.minibatch_stddev:
      x = remedies.MinibatchStdDev(self.minibatch_stddev, name='minibatch_stddev')(x)
    x = x.reshape((x.shape[0], -1))
    # Skipped at init, so that init returns no 'intermediates' collection.
    if not self.is_initializing():
      self.sow('intermediates', 'features', x)
    if self.minibatch_discrimination:
      x = remedies.MinibatchDiscrimination(
        self.minibatch_discrimination,
        self.minibatch_discrimination_dim,
        param_dtype=self.param_dtype,
        name='minibatch_discrimination',
      )(x)
    logits = spectral_norm(nn.Dense(1, kernel_init=_weight_init, name='to_logit', **kwargs), x)
    logits = logits[:, 0]
    if self.num_classes and self.conditioning == 'projection':
      # The paper's N(0, 0.02), like the final dense kernel it adds to.
      embedding = nn.Embed(
        self.num_classes,
        x.shape[-1],
        embedding_init=_weight_init,
        name='projection_embedding',
        **kwargs,
      )
      logits = logits + jnp.sum(embedding(labels) * x, axis=-1)
    return logits.astype(jnp.float32)


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
