"""Adversarial losses, as pure functions of discriminator outputs.

The cross-entropy losses take logits (pre-sigmoid discriminator outputs) rather than
probabilities: log-sigmoid computed from logits stays finite at any magnitude,
whereas log(sigmoid(x)) underflows to log(0) once |x| is a few tens.

Conventions follow Goodfellow et al. 2014: D(x) = sigmoid(logit) is the
probability that x is real. Each loss is a scalar to be *minimised* and is the
mean over the batch.

The least squares, hinge and Wasserstein losses further down are defined on
D's raw output instead (no sigmoid is ever applied), and feature matching on
an intermediate feature of D.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """Binary cross-entropy of D on a real and a fake batch, summed over the two.

  This is -[log D(x) + log(1 - D(G(z)))], the negation of the discriminator's
  objective V(D, G) in Goodfellow et al. 2014, each term averaged over its
  batch.

  Args:
    real_logits: D's logits on real data, any shape.
    fake_logits: D's logits on generated data, any shape.

  Returns:
    A scalar.
  """
  real_term = optax.sigmoid_binary_cross_entropy(real_logits, jnp.ones_like(real_logits))
  fake_term = optax.sigmoid_binary_cross_entropy(fake_logits, jnp.zeros_like(fake_logits))
  return jnp.mean(real_term) + jnp.mean(fake_term)


def non_saturating_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """-log D(G(z)): the generator loss Goodfellow et al. recommend in practice.

  Its gradient is large exactly when D confidently rejects the samples, which
  is where the minimax form's gradient vanishes.
  """
  return jnp.mean(optax.sigmoid_binary_cross_entropy(fake_logits, jnp.ones_like(fake_logits)))


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """log(1 - D(G(z))): the saturating generator loss of the minimax game.

  log(1 - sigmoid(l)) = -softplus(l), which is finite for every logit.
  """
  return jnp.mean(-jax.nn.softplus(fake_logits))


# ---------------------------------------------------------------------------
# Losses on raw discriminator outputs.
#
# The losses below take D's raw, unbounded output (no sigmoid), called
# `real_out` / `fake_out`: least squares, hinge and Wasserstein losses are
# defined on that output directly. Each is still a scalar to minimise, the
# mean over the batch.


def least_squares_discriminator_loss(real_out: jax.Array, fake_out: jax.Array) -> jax.Array:
  """LSGAN discriminator loss, 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2].

  Mao et al. 2017, eq. 2, with the 0-1 coding a = 0 (fake), b = 1 (real).
  For a fixed G the optimum is D(x) = p_data / (p_data + p_g), so at the
  equilibrium D = 1/2 everywhere and the loss is 1/4.

  Args:
    real_out: D's raw outputs on real data, any shape.
    fake_out: D's raw outputs on generated data, any shape.

  Returns:
    A scalar.
  """
  return 0.5 * jnp.mean(jnp.square(real_out - 1.0)) + 0.5 * jnp.mean(jnp.square(fake_out))


def least_squares_generator_loss(fake_out: jax.Array) -> jax.Array:
  """LSGAN generator loss, 0.5 E[(D(G(z)) - 1)^2] (Mao et al. 2017, c = 1).

  Unlike -log D, the penalty keeps growing with the distance of a fake from
  the real coding, so fakes on the correct side of the decision boundary
  but far from the data still get a gradient.
  """
  return 0.5 * jnp.mean(jnp.square(fake_out - 1.0))


def hinge_discriminator_loss(real_out: jax.Array, fake_out: jax.Array) -> jax.Array:
  """Hinge discriminator loss, E[relu(1 - D(x))] + E[relu(1 + D(G(z)))].

  Lim & Ye 2017 (Geometric GAN); the form used by Miyato et al. 2018.
  Samples already beyond the margin (D(x) >= 1, D(G(z)) <= -1) contribute
  neither loss nor gradient.

  Args:
    real_out: D's raw outputs on real data, any shape.
    fake_out: D's raw outputs on generated data, any shape.

  Returns:
    A scalar.
  """
  return jnp.mean(jax.nn.relu(1.0 - real_out)) + jnp.mean(jax.nn.relu(1.0 + fake_out))


def hinge_generator_loss(fake_out: jax.Array) -> jax.Array:
  """Hinge generator loss, -E[D(G(z))].

  The generator side has no margin: it is the same linear loss as the
  Wasserstein generator's.
  """
  return -jnp.mean(fake_out)


def wasserstein_critic_loss(real_out: jax.Array, fake_out: jax.Array) -> jax.Array:
  """WGAN critic loss, E[D(G(z))] - E[D(x)] (Arjovsky et al. 2017).

  Minimising it maximises the Kantorovich-Rubinstein estimate of the
  Wasserstein-1 distance, which is only meaningful when D is kept
  (approximately) 1-Lipschitz: by weight clipping, a gradient penalty
  (`jaxgan.losses.penalties.gradient_penalty`) or spectral normalisation. Without
  one the loss is unbounded below.

  Args:
    real_out: the critic's raw outputs on real data, any shape.
    fake_out: the critic's raw outputs on generated data, any shape.

  Returns:
    A scalar.
  """
  return jnp.mean(fake_out) - jnp.mean(real_out)


def wasserstein_generator_loss(fake_out: jax.Array) -> jax.Array:
  """WGAN generator loss, -E[D(G(z))] (Arjovsky et al. 2017)."""
  return -jnp.mean(fake_out)


def feature_matching_loss(real_features: jax.Array, fake_features: jax.Array) -> jax.Array:
  """Feature matching, ||E[f(x)] - E[f(G(z))]||_2^2 (Salimans et al. 2016, 3.1).

  The generator matches the *mean* of an intermediate discriminator feature
  over the batch, not each sample's features: the means are taken over axis
  0 first, then the squared norm over all remaining axes. The two batches
  may therefore have different sizes.

  Gradients flow into both arguments; for the generator's update the real
  features depend on D only, so pass them through `jax.lax.stop_gradient`
  if D's parameters are differentiated in the same call.

  Args:
    real_features: f(x), shape (batch_real, ...).
    fake_features: f(G(z)), shape (batch_fake, ...), the same trailing shape.

  Returns:
    A scalar.
  """
  difference = jnp.mean(real_features, axis=0) - jnp.mean(fake_features, axis=0)
  return jnp.sum(jnp.square(difference))


# ---------------------------------------------------------------------------
# The losses by name, as the configs choose them.


class AdversarialLoss(NamedTuple):
  """D's and G's losses of one GAN formulation.

  Attributes:
    discriminator: (real_out, fake_out) -> D's loss.
    generator: fake_out -> G's loss.
    outputs_are_logits: whether D's output is a logit, sigmoid(out) = D(x);
      the other losses read it as an unbounded score.
  """

  discriminator: Callable[[jax.Array, jax.Array], jax.Array]
  generator: Callable[[jax.Array], jax.Array]
  outputs_are_logits: bool


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
  # The two G losses of Goodfellow et al. 2014 share D's cross-entropy.
  'non_saturating': AdversarialLoss(discriminator_loss, non_saturating_generator_loss, True),
  'minimax': AdversarialLoss(discriminator_loss, minimax_generator_loss, True),
  'least_squares': AdversarialLoss(
    least_squares_discriminator_loss, least_squares_generator_loss, False
  ),
  'hinge': AdversarialLoss(hinge_discriminator_loss, hinge_generator_loss, False),
  'wasserstein': AdversarialLoss(wasserstein_critic_loss, wasserstein_generator_loss, False),
}
