"""The MLPs of PacGAN's 2-D mode-collapse experiments (Lin et al. 2018).

PacGAN took these from the ALI/VEEGAN synthetic experiments, and its code
(fjxmlzn/PacGAN, synthetic_data_experiments/2D*_GAN&PacGAN) builds them as:

Generator: z (2) -> 4 x [Linear 400 without bias -> BatchNorm -> ReLU] ->
Linear 2 with bias, no output nonlinearity.
Discriminator: x (2 * packing) -> 3 x LinearMaxout(200 units, 5 pieces) ->
Linear 1, no BatchNorm.
Every weight starts from N(0, 0.02^2) and every bias from 0.

The discriminator packs with its `packing` field, and can add minibatch
discrimination (Salimans et al. 2016) before its output layer. It sows its
final features phi(x), the last maxout layer's output, as 'features', for
feature matching:

  logits, updates = d.apply(variables, x, train=True,
                            mutable=['batch_stats', 'intermediates'])
  phi = updates['intermediates']['features'][0]  # (batch // packing, F)

Neither network is class-conditional: both take `labels` only to share the
call signature of the image networks, and reject any but None.
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn import conditioning, remedies


class PointGenerator(nn.Module):
  """Maps latent vectors z to points in R^output_dim.

  Attributes:
    hidden_features: widths of the hidden layers.
    output_dim: dimension of the points produced.
    batch_norm_axis_name: mesh axis over which BatchNorm averages its batch
      statistics, so that they are those of the global batch under data
      parallelism; None outside a mapped context.
    batch_norm_momentum: weight of the old running statistics in each update;
      PacGAN's code uses 0.95 (its update is 0.05 * batch + 0.95 * running).
    batch_norm_epsilon: added to the variance; 1e-4 is the Blocks default
      that PacGAN ran with.
    init_stddev: standard deviation of the normal weight initialisation.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  hidden_features: Sequence[int] = (400, 400, 400, 400)
  output_dim: int = 2
  batch_norm_axis_name: str | None = None
  batch_norm_momentum: float = 0.95
  batch_norm_epsilon: float = 1e-4
  init_stddev: float = 0.02
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool) -> jax.Array:
    """Generates points.

    Args:
      z: latent vectors, shape (batch, latent_dim).
      labels: must be None (the generator is unconditional).
      train: whether BatchNorm uses and updates batch statistics.

    Returns:
      Points, shape (batch, output_dim), float32.

    Raises:
      ValueError: if labels are given.
    """
    conditioning.check_labels(labels, num_classes=0, batch=z.shape[0], module='PointGenerator')
    kernel_init = nn.initializers.normal(self.init_stddev)
    x = z
    for i, features in enumerate(self.hidden_features):
      # No bias: the BatchNorm shift right after it would cancel it.
      x = nn.Dense(
        features,
        use_bias=False,
        kernel_init=kernel_init,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name=f'dense_{i}',
      )(x)
      x = nn.BatchNorm(
        use_running_average=not train,
        momentum=self.batch_norm_momentum,
        epsilon=self.batch_norm_epsilon,
        axis_name=self.batch_norm_axis_name,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name=f'batch_norm_{i}',
      )(x)
      x = nn.relu(x)
    x = nn.Dense(
      self.output_dim,
      kernel_init=kernel_init,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      name='to_point',
    )(x)
    return x.astype(jnp.float32)


class LinearMaxout(nn.Module):
  """An affine map to features * num_pieces units, then the max of each group.

  Unit j of the output is max_k (x W + b)[j * num_pieces + k]: consecutive
  columns form one unit's pieces, as in Blocks' LinearMaxout (Goodfellow et
  al. 2013).

  Attributes:
    features: number of output units.
    num_pieces: linear pieces per unit.
    init_stddev: standard deviation of the normal weight initialisation.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  features: int
  num_pieces: int
  init_stddev: float = 0.02
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    y = nn.Dense(
      self.features * self.num_pieces,
      kernel_init=nn.initializers.normal(self.init_stddev),
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      name='dense',
    )(x)
    y = y.reshape((*y.shape[:-1], self.features, self.num_pieces))
    return jnp.max(y, axis=-1)


class MaxoutDiscriminator(nn.Module):
  """Maps points (or packs of points, flattened) to one logit each.

  Attributes:
    hidden_features: widths of the maxout layers.
    num_pieces: linear pieces per maxout unit.
    init_stddev: standard deviation of the normal weight initialisation.
    minibatch_discrimination: number of kernels B of
      `remedies.MinibatchDiscrimination` applied to the last maxout layer's
      output before the output layer; 0 turns it off.
    minibatch_discrimination_dim: dimension C of each of those kernels.
    packing: PacGAN degree m: m consecutive (flattened) points are
      concatenated into one input, (B, 2) -> (B / m, 2 m), as
      `remedies.pack` does to vectors; D returns one logit per pack.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  hidden_features: Sequence[int] = (200, 200, 200)
  num_pieces: int = 5
  init_stddev: float = 0.02
  # Salimans et al.'s code (openai/improved-gan) uses B = 100 kernels of C = 5.
  minibatch_discrimination: int = 0
  minibatch_discrimination_dim: int = 5
  packing: int = 1
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(
    self, points: jax.Array, labels: jax.Array | None = None, *, train: bool
  ) -> jax.Array:
    """Scores points.

    Args:
      points: shape (batch, dim), or (batch, ...) already packed (flattened).
      labels: must be None (the discriminator is unconditional).
      train: unused; no layer behaves differently in training.

    Returns:
      Logits, shape (batch // packing,), float32.

    Raises:
      ValueError: if labels are given, or `packing` does not divide the batch.
    """
    del train  # No layer behaves differently in training.
    conditioning.check_packing(self.packing, num_classes=0, module='MaxoutDiscriminator')
    conditioning.check_labels(
      labels, num_classes=0, batch=points.shape[0], module='MaxoutDiscriminator'
    )
    # Flattening makes a pack of m points one input of size m * dim, which
    # is how PacGAN feeds its discriminator.
    x = points.reshape((points.shape[0], -1))
    if self.packing > 1:
      x = remedies.pack(x, self.packing)
    for i, features in enumerate(self.hidden_features):
      x = LinearMaxout(
        features,
        self.num_pieces,
        init_stddev=self.init_stddev,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name=f'maxout_{i}',
      )(x)
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
    logits = nn.Dense(
      1,
      kernel_init=nn.initializers.normal(self.init_stddev),
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      name='to_logit',
    )(x)
    return logits[:, 0].astype(jnp.float32)
