"""The vanilla GAN of Goodfellow et al. 2014, as the classic PyTorch ports build it.

Generator: z -> 128 -> 256 -> 512 -> 1024 -> H*W*C, LeakyReLU(0.2) in the
hidden layers with BatchNorm on all but the first, tanh output.
Discriminator: H*W*C -> 512 -> 256 -> 1, LeakyReLU(0.2), one logit out.
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class MLPGenerator(nn.Module):
  """Maps a latent vector z to an image in [-1, 1].

  Attributes:
    image_shape: (height, width, channels) of the images produced.
    hidden_features: widths of the hidden layers.
    batch_norm_axis_name: mesh axis over which BatchNorm averages its batch
      statistics, so that they are those of the global batch under data
      parallelism; None outside a mapped context.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  image_shape: tuple[int, int, int]
  hidden_features: Sequence[int] = (128, 256, 512, 1024)
  batch_norm_axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
    x = z
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
  """Maps an image to one logit: log D(x) - log(1 - D(x)).

  Attributes:
    hidden_features: widths of the hidden layers.
    dtype: dtype of the computation.
    param_dtype: dtype of the parameters.
  """

  hidden_features: Sequence[int] = (512, 256)
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    del train  # No layer behaves differently in training.
    x = images.reshape((images.shape[0], -1))
    for i, features in enumerate(self.hidden_features):
      x = nn.Dense(features, dtype=self.dtype, param_dtype=self.param_dtype, name=f'dense_{i}')(x)
      x = nn.leaky_relu(x, 0.2)
    logits = nn.Dense(1, dtype=self.dtype, param_dtype=self.param_dtype, name='to_logit')(x)
    return logits[:, 0].astype(jnp.float32)
