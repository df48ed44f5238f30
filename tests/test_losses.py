"""Tests of the adversarial losses on cases with a known answer."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses


def logit(p):
  return jnp.log(p) - jnp.log1p(-p)


def test_worked_example():
  # D(x) = 0.9 on real data, D(G(z)) = 0.1 on fakes.
  real, fake = logit(jnp.array([0.9])), logit(jnp.array([0.1]))
  # -log 0.9 - log(1 - 0.1) = 2 * 0.10536
  np.testing.assert_allclose(losses.discriminator_loss(real, fake), 0.2107, atol=1e-4)
  # -log 0.1
  np.testing.assert_allclose(losses.non_saturating_generator_loss(fake), 2.3026, atol=1e-4)
  # log(1 - 0.1)
  np.testing.assert_allclose(losses.minimax_generator_loss(fake), np.log(0.9), atol=1e-6)


@pytest.mark.parametrize('p_real,p_fake', [(0.5, 0.5), (0.7, 0.2), (0.01, 0.99)])
def test_matches_probability_form(p_real, p_fake):
  real = logit(jnp.full((4,), p_real))
  fake = logit(jnp.full((4,), p_fake))
  np.testing.assert_allclose(
      losses.discriminator_loss(real, fake),
      -np.log(p_real) - np.log(1 - p_fake), rtol=1e-5)
  np.testing.assert_allclose(
      losses.non_saturating_generator_loss(fake), -np.log(p_fake), rtol=1e-5)
  np.testing.assert_allclose(
      losses.minimax_generator_loss(fake), np.log(1 - p_fake), rtol=1e-5)


def test_at_equilibrium_discriminator_loss_is_log_4():
  # D = 1/2 everywhere: V(D, G) = -log 4 (Goodfellow et al. 2014, Theorem 1).
  zeros = jnp.zeros((8,))
  np.testing.assert_allclose(losses.discriminator_loss(zeros, zeros), np.log(4.0), rtol=1e-6)


@pytest.mark.parametrize('loss_fn', [
    lambda l: losses.discriminator_loss(l, -l),
    lambda l: losses.discriminator_loss(-l, l),
    losses.non_saturating_generator_loss,
    losses.minimax_generator_loss,
], ids=['d_confident_right', 'd_confident_wrong', 'non_saturating', 'minimax'])
def test_finite_values_and_gradients_at_extreme_logits(loss_fn):
  logits = jnp.array([-100.0, -30.0, 0.0, 30.0, 100.0])
  value, grad = jax.jit(jax.value_and_grad(loss_fn))(logits)
  chex.assert_tree_all_finite((value, grad))


def test_gradients_saturate_as_the_paper_says():
  # Early in training D rejects fakes confidently (logit -10). The minimax
  # loss then gives G almost no gradient; the non-saturating one gives a
  # gradient of order one.
  fake = jnp.array([-10.0])
  minimax = jax.grad(losses.minimax_generator_loss)(fake)
  non_saturating = jax.grad(losses.non_saturating_generator_loss)(fake)
  assert abs(float(minimax[0])) < 1e-4
  assert abs(float(non_saturating[0])) > 0.99
