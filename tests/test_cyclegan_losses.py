"""Tests of CycleGAN's losses against values computed by hand."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.families.cyclegan import losses


def test_cycle_and_identity_losses_are_mean_absolute_errors():
  real = jnp.zeros((2, 2, 2, 1))
  # Half the pixels off by 1, a quarter by 0.5: mean |error| = 0.5 + 0.125.
  other = jnp.asarray([1, 1, 1, 1, 0.5, -0.5, 0, 0], jnp.float32).reshape(2, 2, 2, 1)
  assert losses.cycle_consistency_loss(real, other) == pytest.approx(0.625)
  assert losses.identity_loss(real, other) == pytest.approx(0.625)
  assert losses.cycle_consistency_loss(other, other) == 0


def test_least_squares_losses_are_the_references_mean_squared_errors():
  real_out = jnp.asarray([[1.0, 0.0], [0.5, 1.0]])  # (real - 1)^2: 0, 1, 0.25, 0 -> 0.3125
  fake_out = jnp.asarray([[0.0, 1.0], [0.5, 0.0]])  # fake^2: 0, 1, 0.25, 0 -> 0.3125
  # D: (MSE(real, 1) + MSE(fake, 0)) / 2.
  assert losses.discriminator_loss('least_squares', real_out, fake_out) == pytest.approx(0.3125)
  # G: MSE(D(G(a)), 1), not halved: with fake_out, (1 + 0 + 0.25 + 1) / 4.
  assert losses.generator_adversarial_loss('least_squares', fake_out) == pytest.approx(0.5625)


def test_the_discriminator_loss_is_halved_for_every_adversarial_loss():
  real_out, fake_out = jnp.asarray([2.0, -1.0]), jnp.asarray([0.5, -3.0])
  # Cross-entropy: softplus(-x) on real, softplus(x) on fake, means summed, then / 2.
  softplus = lambda x: np.log1p(np.exp(x))
  expected = (
    np.mean(softplus(-np.asarray([2.0, -1.0]))) + np.mean(softplus(np.asarray([0.5, -3.0])))
  ) / 2
  assert losses.discriminator_loss('non_saturating', real_out, fake_out) == pytest.approx(expected)
  # Hinge: (mean relu(1 - real) + mean relu(1 + fake)) / 2 = ((0 + 2) / 2 + (1.5 + 0) / 2) / 2.
  assert losses.discriminator_loss('hinge', real_out, fake_out) == pytest.approx(0.875)
