"""Gradient penalties on the discriminator, as pure functions of it.

Each penalty takes the discriminator as a function `d(images) -> outputs`,
with the parameters closed over, e.g.
`lambda x: model.apply(params, x)`. Differentiating the penalty with respect
to those parameters then goes through the input gradient (double
backpropagation), which JAX does by composing `jax.grad`.

Both penalties need the gradient of D's output *for each sample* with
respect to that sample. They get all of them from one backward pass, the
gradient of the sum of the outputs with respect to the whole batch: when D
treats every sample independently, output i does not depend on sample j != i,
so row i of d(sum_j D(x_j))/dx is exactly dD(x_i)/dx_i. This rules out
anything that mixes samples: BatchNorm in training mode (use LayerNorm or no
normalisation, as Gulrajani et al. 2017 recommend), minibatch
discrimination or minibatch standard deviation layers. With them the result
is not the per-sample gradient.
"""

from typing import Callable

import jax
import jax.numpy as jnp

Discriminator = Callable[[jax.Array], jax.Array]


def _per_sample_input_gradients(d: Discriminator, x: jax.Array) -> jax.Array:
  """dD(x_i)/dx_i for every sample i, shape x.shape (see the module docstring)."""
  return jax.grad(lambda inputs: jnp.sum(d(inputs)))(x)


def _per_sample_squared_norms(gradients: jax.Array) -> jax.Array:
  """||g_i||^2 over all of each sample's elements, shape (batch,)."""
  return jnp.sum(jnp.square(gradients), axis=tuple(range(1, gradients.ndim)))


def _safe_sqrt(squared_norms: jax.Array) -> jax.Array:
  """sqrt with value 0 and gradient 0 (not inf, not NaN) at exactly 0.

  d sqrt(s)/ds = 1 / (2 sqrt(s)) is infinite at s = 0, and the chain rule
  multiplies it by ds/dg = 2g = 0, giving NaN. Adding an epsilon under the
  root would avoid that but bias the value (a zero gradient would have norm
  sqrt(eps)). Instead the root is taken of 1 wherever s == 0 and the result
  replaced by 0 there, so the infinite branch is never evaluated: the value
  is exact and the gradient at 0 is 0.
  """
  is_zero = squared_norms == 0
  safe = jnp.where(is_zero, jnp.ones_like(squared_norms), squared_norms)
  return jnp.where(is_zero, jnp.zeros_like(squared_norms), jnp.sqrt(safe))


def gradient_penalty(
  d: Discriminator,
  real: jax.Array,
  fake: jax.Array,
  key: jax.Array | None = None,
  *,
  eps: jax.Array | None = None,
  target: float = 1.0,
) -> jax.Array:
  """The WGAN-GP penalty, E[(||grad_x D(x_hat)||_2 - target)^2] (Gulrajani et al. 2017).

  x_hat = eps * real + (1 - eps) * fake with one eps ~ U[0, 1] per *sample*
  (Algorithm 1 of the paper), drawn as
  `jax.random.uniform(key, (batch, 1, ..., 1), real.dtype)` and broadcast
  over the sample's elements. The norm is taken per sample, over all of its
  elements, and the squared deviations averaged over the batch. The caller
  multiplies by lambda (10 in the paper).

  The gradients come from one backward pass through the sum of D's outputs,
  which is valid only because D acts on each sample independently: D must not
  contain BatchNorm (in training mode) or any other layer that mixes samples.
  The norm has a finite gradient even where D's input gradient is exactly
  zero (see `_safe_sqrt`): the penalty is then exactly target^2.

  Args:
    d: the discriminator, mapping a batch shaped like `real` to outputs of
      shape (batch,) (or (batch, 1)); output i may depend on sample i only.
    real: real samples, shape (batch, ...).
    fake: generated samples, the same shape.
    key: PRNG key for the interpolation coefficients.
    eps: the coefficients themselves, shape (batch,), instead of `key`; the
      train step draws them per example so that they do not depend on how
      the batch is split over devices.
    target: the norm the gradient is pulled towards (1 for 1-Lipschitz).

  Returns:
    A scalar.

  Raises:
    ValueError: if `real` and `fake` have different shapes, or not exactly
      one of `key` and `eps` is given.
  """
  if real.shape != fake.shape:
    raise ValueError(f'real and fake must have the same shape, got {real.shape} and {fake.shape}.')
  if (key is None) == (eps is None):
    raise ValueError('gradient_penalty takes either key or eps, not both or neither.')
  eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
  if eps is None:
    eps = jax.random.uniform(key, eps_shape, dtype=real.dtype)
  else:
    eps = jnp.reshape(eps, eps_shape).astype(real.dtype)
  interpolates = eps * real + (1.0 - eps) * fake
  gradients = _per_sample_input_gradients(d, interpolates)
  norms = _safe_sqrt(_per_sample_squared_norms(gradients))
  return jnp.mean(jnp.square(norms - target))


def r1_penalty(d: Discriminator, real: jax.Array) -> jax.Array:
  """The R1 penalty, E[||grad_x D(x)||_2^2] on real data (Mescheder et al. 2018).

  The squared norm is taken per sample over all of its elements and averaged
  over the batch. The regulariser in the paper is gamma / 2 times this; the
  caller applies the factor. No square root is involved, so the gradient is
  finite everywhere. As for `gradient_penalty`, D must act on each sample
  independently (no BatchNorm in training mode).

  Args:
    d: the discriminator, mapping a batch shaped like `real` to outputs of
      shape (batch,) (or (batch, 1)); output i may depend on sample i only.
    real: real samples, shape (batch, ...).

  Returns:
    A scalar.
  """
  gradients = _per_sample_input_gradients(d, real)
  return jnp.mean(_per_sample_squared_norms(gradients))
