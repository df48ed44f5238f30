"""Tests of the gradient penalties on critics whose input gradient is known.

Each case targets one way of getting a penalty wrong: epsilon drawn per pixel
rather than per sample, the norm taken over the whole batch rather than per
sample, NaN gradients where D's input gradient is exactly zero.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.losses import penalties

_SHAPE = (3, 2, 2, 1)  # (batch, H, W, C): tiny images.


def linear_critic(w):
  """D(x) = <w, x> per sample: the input gradient is w for every sample."""
  return lambda x: jnp.sum(x * w, axis=(1, 2, 3))


def quadratic_critic(x):
  """D(x) = 0.5 ||x||^2 per sample: the input gradient is x itself."""
  return 0.5 * jnp.sum(jnp.square(x), axis=(1, 2, 3))


def _images(seed):
  return np.random.default_rng(seed).normal(size=_SHAPE).astype(np.float32)


@pytest.mark.parametrize(
  'w_values,target',
  [
    ([2.0, 1.0, 2.0, 0.0], 1.0),  # ||w|| = 3: (3 - 1)^2 = 4.
    ([0.5, 0.0, 0.0, 0.0], 1.0),  # ||w|| = 0.5: 0.25.
    ([0.6, 0.8, 0.0, 0.0], 1.0),  # ||w|| = 1: already 1-Lipschitz, 0.
    ([2.0, 1.0, 2.0, 0.0], 2.0),  # ||w|| = 3, target 2: 1.
  ],
  ids=['norm3', 'norm_half', 'norm1', 'norm3_target2'],
)
def test_linear_critic(w_values, target):
  w = jnp.array(w_values).reshape(_SHAPE[1:])
  norm = np.linalg.norm(w_values)

  @jax.jit
  def penalties_and_grads(w, real, fake, key):
    gp = lambda w: penalties.gradient_penalty(linear_critic(w), real, fake, key, target=target)
    r1 = lambda w: penalties.r1_penalty(linear_critic(w), real)
    return jax.value_and_grad(gp)(w), jax.value_and_grad(r1)(w)

  (gp, gp_grad), (r1, r1_grad) = penalties_and_grads(w, _images(0), _images(1), jax.random.key(2))
  # The input gradient is w wherever D is evaluated, whatever epsilon is.
  np.testing.assert_allclose(gp, (norm - target) ** 2, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(r1, norm**2, rtol=1e-5)
  # Double backprop: d(||w|| - t)^2/dw = 2 (||w|| - t) w / ||w||, d||w||^2/dw = 2w.
  np.testing.assert_allclose(gp_grad, 2 * (norm - target) * w / norm, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(r1_grad, 2 * w, rtol=1e-5)


def test_outputs_of_shape_batch_by_one_are_accepted():
  w = jnp.full(_SHAPE[1:], 0.5)  # ||w|| = 1.
  d = lambda x: linear_critic(w)(x)[:, None]
  value = jax.jit(lambda r, f, k: penalties.gradient_penalty(d, r, f, k))(
    _images(0), _images(1), jax.random.key(2)
  )
  np.testing.assert_allclose(value, 0.0, atol=1e-6)
  np.testing.assert_allclose(
    jax.jit(lambda r: penalties.r1_penalty(d, r))(_images(0)), 1.0, rtol=1e-5
  )


def test_input_dependent_gradient_uses_one_epsilon_per_sample():
  real, fake, key = _images(0), _images(1), jax.random.key(7)
  value = jax.jit(lambda r, f, k: penalties.gradient_penalty(quadratic_critic, r, f, k))(
    real, fake, key
  )

  # By hand: the same per-sample draw; grad D(x_hat) = x_hat.
  eps = np.asarray(jax.random.uniform(key, (_SHAPE[0], 1, 1, 1)))
  x_hat = eps * np.asarray(real) + (1 - eps) * np.asarray(fake)
  norms = np.sqrt(np.sum(x_hat**2, axis=(1, 2, 3)))
  np.testing.assert_allclose(value, np.mean((norms - 1) ** 2), rtol=1e-5)

  # The test can tell: one epsilon per pixel gives a different penalty.
  eps_per_pixel = np.asarray(jax.random.uniform(key, _SHAPE))
  x_hat_per_pixel = eps_per_pixel * np.asarray(real) + (1 - eps_per_pixel) * np.asarray(fake)
  norms_per_pixel = np.sqrt(np.sum(x_hat_per_pixel**2, axis=(1, 2, 3)))
  assert abs(np.mean((norms_per_pixel - 1) ** 2) - float(value)) > 1e-2


def test_input_dependent_r1():
  real = _images(0)
  value = jax.jit(lambda r: penalties.r1_penalty(quadratic_critic, r))(real)
  # grad D(x) = x: the mean over the batch of ||x_i||^2.
  np.testing.assert_allclose(
    value, np.mean(np.sum(np.asarray(real) ** 2, axis=(1, 2, 3))), rtol=1e-5
  )


def test_norm_is_per_sample_not_over_the_batch():
  # real == fake, so x_hat = real whatever epsilon is, and grad D = x_hat.
  # Sample norms 1 and 3: per sample ((1 - 1)^2 + (3 - 1)^2) / 2 = 2, whereas
  # one norm over the batch gives (sqrt(10) - 1)^2 = 4.675.
  x = jnp.zeros((2, 2, 2, 1)).at[0, 0, 0, 0].set(1.0).at[1, 1, 1, 0].set(3.0)
  gp = jax.jit(lambda x, k: penalties.gradient_penalty(quadratic_critic, x, x, k))(
    x, jax.random.key(0)
  )
  np.testing.assert_allclose(gp, 2.0, rtol=1e-6)
  # R1 has no root to misplace: (1 + 9) / 2 = 5.
  np.testing.assert_allclose(
    jax.jit(lambda x: penalties.r1_penalty(quadratic_critic, x))(x), 5.0, rtol=1e-6
  )


@pytest.mark.parametrize(
  'make_critic,params',
  [
    (lambda c: lambda x: jnp.full((x.shape[0],), c), jnp.array(3.0)),
    (linear_critic, jnp.zeros(_SHAPE[1:])),
  ],
  ids=['constant', 'linear_with_zero_weights'],
)
@pytest.mark.parametrize('target', [1.0, 2.0])
def test_zero_input_gradient(make_critic, params, target):
  real, fake, key = _images(0), _images(1), jax.random.key(3)

  @jax.jit
  def value_and_grads(params):
    gp = lambda p: penalties.gradient_penalty(make_critic(p), real, fake, key, target=target)
    r1 = lambda p: penalties.r1_penalty(make_critic(p), real)
    return jax.value_and_grad(gp)(params), jax.value_and_grad(r1)(params)

  (gp, gp_grad), (r1, r1_grad) = value_and_grads(params)
  # The exact value: no epsilon biases the norm of a zero gradient.
  np.testing.assert_allclose(gp, target**2, rtol=1e-6)
  np.testing.assert_allclose(r1, 0.0)
  chex.assert_tree_all_finite((gp_grad, r1_grad))


def test_gradient_penalty_rejects_mismatched_shapes():
  with pytest.raises(ValueError, match='same shape'):
    penalties.gradient_penalty(
      quadratic_critic, jnp.zeros((2, 3)), jnp.zeros((3, 3)), jax.random.key(0)
    )


def test_given_epsilons_are_used_one_per_sample():
  # The train step passes eps itself (drawn per example): the same answer
  # as above, from eps given as a (batch,) vector.
  real, fake = _images(0), _images(1)
  eps = np.array([0.0, 0.5, 1.0], np.float32)
  value = penalties.gradient_penalty(quadratic_critic, real, fake, eps=eps)
  x_hat = eps[:, None, None, None] * real + (1 - eps[:, None, None, None]) * fake
  norms = np.sqrt(np.sum(x_hat**2, axis=(1, 2, 3)))
  np.testing.assert_allclose(value, np.mean((norms - 1) ** 2), rtol=1e-5)


def test_gradient_penalty_takes_a_key_or_epsilons_not_both():
  real, fake = _images(0), _images(1)
  with pytest.raises(ValueError, match='either key or eps'):
    penalties.gradient_penalty(quadratic_critic, real, fake)
  with pytest.raises(ValueError, match='either key or eps'):
    penalties.gradient_penalty(
      quadratic_critic, real, fake, jax.random.key(0), eps=np.zeros(3, np.float32)
    )
