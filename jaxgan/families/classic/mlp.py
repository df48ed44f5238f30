"""The vanilla GAN of Goodfellow et al. 2014, as the classic PyTorch ports build it.

Generator: z -> 128 -> 256 -> 512 -> 1024 -> H*W*C, LeakyReLU(0.2) in the
hidden layers with BatchNorm on all but the first, tanh output.
Discriminator: H*W*C -> 512 -> 256 -> 1, LeakyReLU(0.2), one logit out.

Options, all off by default (the networks above, parameter for parameter):

* Class conditioning (`num_classes > 0`): G concatenates a label embedding
  to z (Mirza & Osindero 2014); D either concatenates one to the flattened
  image ('concat') or adds <embed(y), phi(x)> to its logit ('projection',
  Miyato & Koyama 2018).
* `spectral_norm` (Miyato et al. 2018) on every dense layer of D.
* The mode-collapse remedies of `jaxgan.nn.remedies` in D: minibatch
  discrimination, minibatch standard deviation, PacGAN packing.

Feature matching (Salimans et al. 2016) reads D's final features phi(x),
the last hidden layer's output (after the minibatch standard deviation,
before minibatch discrimination), which D sows as 'features':

  logits, updates = d.apply(variables, x, train=True,
                            mutable=['batch_stats', 'intermediates'])
  phi = updates['intermediates']['features'][0]  # (batch // packing, F)
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.nn import conditioning, normalization, remedies


class MLPGenerator(nn.Module):
  """Maps a latent vector z (and, if conditional, a class label) to an image in [-1, 1].

  Attributes:
    image_shape: (height, width, channels) of the images produced.
    hidden_features: widths of the hidden layers.
    num_classes: number of classes of a conditional generator; 0 for an
      unconditional one.
    label_embedding_dim: width of the label embedding concatenated to z.
    batch_norm_axis_name: mesh axis over which BatchNorm averages its batch
      statistics, so that they are those of the global batch under data
      parallelism; None outside a mapped context.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  image_shape: tuple[int, int, int]
  hidden_features: Sequence[int] = (128, 256, 512, 1024)
  num_classes: int = 0
  # Any width >= num_classes can give each class its own direction, as a
  # one-hot code would; 50 is half the usual 100-d z, so the label is not
  # drowned out by the noise in the first layer, at a negligible cost.
  label_embedding_dim: int = 50
  batch_norm_axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

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
      labels, num_classes=self.num_classes, batch=z.shape[0], module='MLPGenerator'
    )
    x = z
    if self.num_classes:
      embedding = nn.Embed(
        self.num_classes,
        self.label_embedding_dim,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name='label_embedding',
      )(labels)
      x = jnp.concatenate([x, embedding], axis=-1)
    for i, features in enumerate(self.hidden_features):
      x = nn.Dense(features, dtype=self.dtype, param_dtype=self.param_dtype, name=f'dense_{i}')(x)
      # The classic port leaves the first layer without BatchNorm.
      if i > 0:
        # momentum 0.9 in Flax is PyTorch's momentum 0.1.
        x = nn.BatchNorm(
          use_running_average=not train,
          momentum=0.9,
          epsilon=1e-5,
          axis_name=self.batch_norm_axis_name,
          dtype=self.dtype,
          param_dtype=self.param_dtype,
          name=f'batch_norm_{i}',
        )(x)
      x = nn.leaky_relu(x, 0.2)
    x = nn.Dense(
      int(np.prod(self.image_shape)),
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      name='to_image',
    )(x)
    x = jnp.tanh(x)
    return x.reshape((z.shape[0], *self.image_shape))


class MLPDiscriminator(nn.Module):
  """Maps an image (or a pack of images) to one logit: log D(x) - log(1 - D(x)).

  Attributes:
    hidden_features: widths of the hidden layers.
    num_classes: number of classes of a conditional discriminator; 0 for an
      unconditional one.
    conditioning: how labels enter when `num_classes > 0`: 'concat' (a label
      embedding of width `label_embedding_dim` joins the flattened image) or
      'projection' (the logit gains <embed(y), h>, h the vector the final
      dense layer sees).
    label_embedding_dim: width of the 'concat' label embedding.
    spectral_norm: whether every dense layer's kernel is divided by its
      largest singular value, estimated by one power-iteration step per call
      (state in 'batch_stats', updated when `train`).
    minibatch_discrimination: number of kernels B of
      `remedies.MinibatchDiscrimination` applied to the final features
      before the final dense layer; 0 turns it off.
    minibatch_discrimination_dim: dimension C of each of those kernels.
    minibatch_stddev: group size of `remedies.MinibatchStdDev`, applied to
      the last hidden layer's output (one feature appended); 0 turns it off.
    packing: PacGAN degree m: each flattened image is concatenated with the
      next m - 1 (`remedies.pack` on the flattened batch), and D returns
      one logit per pack.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  hidden_features: Sequence[int] = (512, 256)
  num_classes: int = 0
  conditioning: str = 'concat'
  label_embedding_dim: int = 50
  spectral_norm: bool = False
  # Salimans et al.'s code (openai/improved-gan) uses B = 100 kernels of C = 5.
  minibatch_discrimination: int = 0
  minibatch_discrimination_dim: int = 5
  minibatch_stddev: int = 0
  packing: int = 1
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(
    self, images: jax.Array, labels: jax.Array | None = None, *, train: bool
  ) -> jax.Array:
    """Scores images.

    Args:
      images: shape (batch, H, W, C) (any shape (batch, ...) is flattened).
      labels: int class labels, shape (batch,), if `num_classes > 0`; else None.
      train: whether spectral normalisation updates its power iteration.

    Returns:
      Logits, shape (batch // packing,), float32.

    Raises:
      ValueError: on a label misuse (see `conditioning.check_labels`), an
        unknown `conditioning`, or `packing` > 1 with `num_classes` > 0.
    """
    conditioning.check_conditioning(self.conditioning)
    conditioning.check_packing(
      self.packing, num_classes=self.num_classes, module='MLPDiscriminator'
    )
    conditioning.check_labels(
      labels, num_classes=self.num_classes, batch=images.shape[0], module='MLPDiscriminator'
    )
    dense_kwargs = {'dtype': self.dtype, 'param_dtype': self.param_dtype}

    def dense(features, name, x):
      layer = nn.Dense(features, name=name, **dense_kwargs)
      return normalization.maybe_spectral_norm(
        layer, x, spectral_norm=self.spectral_norm, train=train, param_dtype=self.param_dtype
      )

    x = images.reshape((images.shape[0], -1))
    if self.packing > 1:
      # Flatten, then pack: a pack is its images' flattened vectors one after
      # the other, as PacGAN's MLP discriminators concatenate them.
      x = remedies.pack(x, self.packing)
    if self.num_classes and self.conditioning == 'concat':
      embedding = nn.Embed(
        self.num_classes, self.label_embedding_dim, name='label_embedding', **dense_kwargs
      )
      x = jnp.concatenate([x, embedding(labels).astype(x.dtype)], axis=-1)
    for i, features in enumerate(self.hidden_features):
      x = nn.leaky_relu(dense(features, f'dense_{i}', x), 0.2)
    if self.minibatch_stddev:
      x = remedies.MinibatchStdDev(self.minibatch_stddev, name='minibatch_stddev')(x)
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
    logits = dense(1, 'to_logit', x)[:, 0]
    if self.num_classes and self.conditioning == 'projection':
      # Initialised like a column of the final dense kernel (lecun normal
      # over x's width), so that both terms start at the same scale.
      embedding = nn.Embed(
        self.num_classes,
        x.shape[-1],
        embedding_init=nn.initializers.lecun_normal(in_axis=-1, out_axis=-2),
        name='projection_embedding',
        **dense_kwargs,
      )
      logits = logits + jnp.sum(embedding(labels) * x, axis=-1)
    return logits.astype(jnp.float32)
