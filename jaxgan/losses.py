"""Adversarial losses, as pure functions of discriminator logits.

Every loss takes logits (pre-sigmoid discriminator outputs) rather than
probabilities: log-sigmoid computed from logits stays finite at any magnitude,
whereas log(sigmoid(x)) underflows to log(0) once |x| is a few tens.

Conventions follow Goodfellow et al. 2014: D(x) = sigmoid(logit) is the
probability that x is real. Each loss is a scalar to be *minimised* and is the
mean over the batch.
"""

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
  return jnp.mean(
      optax.sigmoid_binary_cross_entropy(fake_logits, jnp.ones_like(fake_logits)))


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
  """log(1 - D(G(z))): the saturating generator loss of the minimax game.

  log(1 - sigmoid(l)) = -softplus(l), which is finite for every logit.
  """
  return jnp.mean(-jax.nn.softplus(fake_logits))
