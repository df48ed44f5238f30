"""The MLPs of PacGAN's 2-D mode-collapse experiments (Lin et al. 2018).

PacGAN took these from the ALI/VEEGAN synthetic experiments, and its code
(fjxmlzn/PacGAN, synthetic_data_experiments/2D*_GAN&PacGAN) builds them as:

Generator: z (2) -> 4 x [Linear 400 without bias -> BatchNorm -> ReLU] ->
Linear 2 with bias, no output nonlinearity.
Discriminator: x (2 * packing) -> 3 x LinearMaxout(200 units, 5 pieces) ->
Linear 1, no BatchNorm.
Every weight starts from N(0, 0.02^2) and every bias from 0.
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


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
  def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
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
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  hidden_features: Sequence[int] = (200, 200, 200)
  num_pieces: int = 5
  init_stddev: float = 0.02
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, points: jax.Array, *, train: bool) -> jax.Array:
    del train  # No layer behaves differently in training.
    # Flattening makes a pack of m points one input of size m * dim, which
    # is how PacGAN feeds its discriminator.
    x = points.reshape((points.shape[0], -1))
    for i, features in enumerate(self.hidden_features):
      x = LinearMaxout(
        features,
        self.num_pieces,
        init_stddev=self.init_stddev,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
        name=f'maxout_{i}',
      )(x)
    logits = nn.Dense(
      1,
      kernel_init=nn.initializers.normal(self.init_stddev),
      dtype=self.dtype,
      param_dtype=self.param_dtype,
      name='to_logit',
    )(x)
    return logits[:, 0].astype(jnp.float32)
