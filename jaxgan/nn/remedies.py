"""Remedies for mode collapse that let the discriminator see the whole minibatch.

A discriminator that judges samples one at a time cannot tell a generator
that produces one perfect sample over and over from one that covers the
data. Each remedy here gives D a statistic of several samples at once:

* `MinibatchDiscrimination` (Salimans et al. 2016, section 3.2): learned
  closeness of each sample to the others in the batch.
* `MinibatchStdDev` (Karras et al. 2018, section 3): the standard deviation
  of the features within a group of samples, appended as one feature map.
* `pack` (PacGAN, Lin et al. 2018): D judges m samples concatenated
  together.

All three mix samples, so a discriminator using them must not be passed to
`jaxgan.losses.penalties` (which assumes D treats each sample independently).
"""

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Initializer = Callable[..., jax.Array]


class MinibatchDiscrimination(nn.Module):
  """Appends, per sample, its learned closeness to the rest of the minibatch.

  With f(x_i) in R^A the input features of sample i and a learned tensor T
  of shape (A, B, C) (B = `num_kernels`, C = `kernel_dim`), M_i = f(x_i) T
  is a B x C matrix, and for each kernel b

    c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1),
    o(x_i)_b = sum over j != i of c_b(x_i, x_j).

  The output is [f(x_i), o(x_i)], of size A + B.

  The paper writes the sum over all j = 1..n. The term j = i is always
  exp(0) = 1 and carries no information, so it is left out: o is then 0 for
  a sample with no near neighbours (and for a batch of one), and
  batch - 1 per kernel for a batch of identical samples.

  Cost: the pairwise distances take O(batch^2 * B * C) time and
  O(batch^2 * B) memory.

  Attributes:
    num_kernels: B, the number of closeness features appended.
    kernel_dim: C, the dimension each kernel projects to.
    kernel_init: initialiser of T. The paper does not specify one; the
      default scales by the fan-in A, like a dense layer's.
    param_dtype: dtype of T.
  """

  num_kernels: int
  kernel_dim: int
  kernel_init: Initializer = nn.initializers.variance_scaling(
    1.0, 'fan_in', 'truncated_normal', in_axis=0, out_axis=(1, 2)
  )
  param_dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, features: jax.Array) -> jax.Array:
    """Args: features, shape (batch, A). Returns: shape (batch, A + num_kernels)."""
    if features.ndim != 2:
      raise ValueError(
        f'MinibatchDiscrimination expects features of shape (batch, A), got {features.shape}; '
        'flatten them first.'
      )
    kernel = self.param(
      'kernel',
      self.kernel_init,
      (features.shape[1], self.num_kernels, self.kernel_dim),
      self.param_dtype,
    )
    # M_i for every sample, laid out (C, batch, B): the C dimensions first.
    m = jnp.einsum('na,abc->cnb', features, kernel.astype(features.dtype))
    # (batch, batch, B): L1 distance between every pair, per kernel, summed
    # one of the C dimensions at a time. Reducing a (batch, batch, B, C)
    # difference over its last axis is the same sum, but XLA:CPU's backward
    # pass of that reduction makes the layer 5 to 7 times slower at batch
    # 100, B 100, C 5 (benchmarks/minibatch_discrimination_speed.py).
    # Index m[c] rather than iterate over m: iteration splits m, and the
    # split's backward pass makes this layer 2.7 to 3 times slower.
    distances = sum(jnp.abs(m[c][:, None, :] - m[c][None, :, :]) for c in range(self.kernel_dim))
    closeness = jnp.exp(-distances)
    # Masking the diagonal (rather than subtracting exp(0) = 1) keeps o exact.
    not_self = 1.0 - jnp.eye(features.shape[0], dtype=closeness.dtype)
    o = jnp.sum(closeness * not_self[:, :, None], axis=1)
    return jnp.concatenate([features, o], axis=-1)


def minibatch_stddev(x: jax.Array, *, group_size: int = 4, epsilon: float = 1e-8) -> jax.Array:
  """Appends the mean within-group standard deviation as one constant feature map.

  Karras et al. 2018, section 3. The batch is split into groups of
  `group_size` *consecutive* samples (the paper does not say which samples
  form a group; with shuffled batches any fixed choice is equivalent). For
  each group, the standard deviation over its samples of every feature at
  every position is averaged to a single number, which is appended to each
  of the group's samples as one more channel, constant over positions.

  The standard deviation is the population one (divide by the group size),
  sqrt(variance + epsilon): the epsilon keeps the gradient of the square
  root finite when a group's samples are identical (variance 0), which is
  exactly the collapsed case this layer exists to detect.

  Args:
    x: shape (batch, H, W, C), or any (batch, ..., C); a vector input
      (batch, C) gets one extra feature.
    group_size: samples per group. A batch smaller than this forms one group.
    epsilon: added to the variance inside the square root.

  Returns:
    Shape (batch, ..., C + 1).

  Raises:
    ValueError: if the group size does not divide the batch, or x has fewer
      than 2 dimensions.
  """
  if x.ndim < 2:
    raise ValueError(f'minibatch_stddev expects (batch, ..., C), got shape {x.shape}.')
  if group_size < 1:
    raise ValueError(f'group_size must be positive, got {group_size}.')
  batch = x.shape[0]
  group = min(group_size, batch)
  if batch % group:
    raise ValueError(
      f'minibatch_stddev: group_size {group} does not divide the batch size {batch}; '
      'choose a batch size that is a multiple of it.'
    )
  grouped = x.reshape((batch // group, group) + x.shape[1:])
  variance = jnp.var(grouped, axis=1)  # (groups, ..., C)
  std = jnp.sqrt(variance + epsilon)
  per_group = jnp.mean(std, axis=tuple(range(1, std.ndim)))  # (groups,)
  per_sample = jnp.repeat(per_group, group)  # Consecutive samples share a group.
  stat_map = jnp.broadcast_to(
    per_sample.reshape((batch,) + (1,) * (x.ndim - 1)), x.shape[:-1] + (1,)
  ).astype(x.dtype)
  return jnp.concatenate([x, stat_map], axis=-1)


class MinibatchStdDev(nn.Module):
  """`minibatch_stddev` as a layer (no parameters), for use inside D.

  Attributes:
    group_size: samples per group; must divide the batch size, or exceed it
      (the whole batch then forms one group).
    epsilon: added to the variance inside the square root.
  """

  group_size: int = 4
  epsilon: float = 1e-8

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """Args: x, shape (batch, H, W, C). Returns: shape (batch, H, W, C + 1)."""
    return minibatch_stddev(x, group_size=self.group_size, epsilon=self.epsilon)


def pack(samples: jax.Array, m: int) -> jax.Array:
  """Packs m consecutive samples into one, concatenated along the last axis (PacGAN).

  Lin et al. 2018: D judges m samples at once, all real or all fake, which
  penalises a generator whose samples lack diversity. Packed sample k holds
  samples k*m, ..., k*m + m - 1, in order: for images its channels are
  [channels of sample k*m, channels of sample k*m + 1, ...].

  Pack real and fake batches separately, with the same m, so that each
  packed sample stays all real or all fake.

  Args:
    samples: shape (B, H, W, C), or (B, D) for vectors, or generally
      (B, ..., C).
    m: the packing degree (a Python int); m = 1 returns the input unchanged.

  Returns:
    Shape (B / m, H, W, m * C), or (B / m, m * D).

  Raises:
    ValueError: if m is not positive or does not divide B.
  """
  if samples.ndim < 2:
    raise ValueError(f'pack expects (batch, ..., C), got shape {samples.shape}.')
  batch = samples.shape[0]
  if m < 1 or batch % m:
    raise ValueError(
      f'pack: the packing degree m={m} must be positive and divide the batch size {batch}.'
    )
  grouped = samples.reshape((batch // m, m) + samples.shape[1:])  # (B/m, m, ..., C)
  # Move the m axis next to the channels, so each position holds the m
  # samples' channels side by side, sample-major.
  grouped = jnp.moveaxis(grouped, 1, -2)  # (B/m, ..., m, C)
  return grouped.reshape((batch // m,) + samples.shape[1:-1] + (m * samples.shape[-1],))
