"""CycleGAN's losses (Zhu et al. 2017, section 3), as its reference code weighs them.

G: A -> B and F: B -> A are trained on

  L_GAN(G, D_B) + L_GAN(F, D_A) + lambda_A L_cyc(A) + lambda_B L_cyc(B)
      + identity_weight (lambda_A L_idt(A) + lambda_B L_idt(B))

with L_cyc(A) = E|F(G(a)) - a| (and likewise for B), and the identity term
L_idt(B) = E|G(b) - b| (section 5.2, for paintings: keeps colours when no
translation is needed). Each D minimises (its loss on real + its loss on
fake) / 2, "to slow down the rate at which D learns relative to G".

The adversarial terms come from `jaxgan.losses.adversarial` by name. The
reference's least-squares loss is the plain mean squared error against the
targets 1 (real) and 0 (fake); Mao et al.'s form, which the library's
'least_squares' follows, carries a factor 1/2, so it is scaled by 2 here.
That keeps lambda = 10 weighing what it weighs in the reference.
"""

import jax
import jax.numpy as jnp

from jaxgan.losses import adversarial

# What makes the library's form of an adversarial loss the reference's.
_REFERENCE_SCALE = {'least_squares': 2.0}


def cycle_consistency_loss(real: jax.Array, reconstructed: jax.Array) -> jax.Array:
  """E|F(G(a)) - a|: the mean absolute error of a round trip (eq. 2)."""
  return jnp.mean(jnp.abs(reconstructed - real))


def identity_loss(real: jax.Array, mapped: jax.Array) -> jax.Array:
  """E|G(b) - b|: how far a generator moves images already in its target domain."""
  return jnp.mean(jnp.abs(mapped - real))


def generator_adversarial_loss(name: str, fake_out: jax.Array) -> jax.Array:
  """G's adversarial loss on D's outputs (a map of patch outputs) for its fakes."""
  return _REFERENCE_SCALE.get(name, 1.0) * adversarial.ADVERSARIAL_LOSSES[name].generator(fake_out)


def discriminator_loss(name: str, real_out: jax.Array, fake_out: jax.Array) -> jax.Array:
  """D's loss, halved: (loss on real + loss on fake) / 2."""
  loss = adversarial.ADVERSARIAL_LOSSES[name].discriminator(real_out, fake_out)
  return _REFERENCE_SCALE.get(name, 1.0) * loss / 2
