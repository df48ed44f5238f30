"""The one pytree that holds everything a GAN run needs to continue."""

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class GANState:
  """Training state of a generator and discriminator pair.

  One object is easy to jit, donate, checkpoint and `jax.eval_shape`.

  Attributes:
    step: number of completed train steps, an int32 scalar.
    generator_params: G's parameters.
    discriminator_params: D's parameters.
    generator_batch_stats: G's BatchNorm running statistics ({} if none).
    discriminator_batch_stats: D's BatchNorm running statistics ({} if none).
    generator_opt_state: state of G's optax transform.
    discriminator_opt_state: state of D's optax transform.
    key: the run's base PRNG key (typed); per-step keys are folded from it
      and the step, so it never changes.
  """

  step: jax.Array
  generator_params: Any
  discriminator_params: Any
  generator_batch_stats: Any
  discriminator_batch_stats: Any
  generator_opt_state: optax.OptState
  discriminator_opt_state: optax.OptState
  key: jax.Array


def create_state(
  key: jax.Array,
  *,
  generator: nn.Module,
  discriminator: nn.Module,
  generator_optimizer: optax.GradientTransformation,
  discriminator_optimizer: optax.GradientTransformation,
  latent_dim: int,
) -> GANState:
  """Initialises both networks and both optimizers.

  Args:
    key: a typed PRNG key (`jax.random.key`); the run is a function of it.
    generator: maps (batch, latent_dim) noise to images; called as
      `generator(z, train=...)`.
    discriminator: maps images to logits; called as
      `discriminator(images, train=...)`.
    generator_optimizer: G's optax transform.
    discriminator_optimizer: D's optax transform.
    latent_dim: size of the noise vector z.

  Returns:
    The state at step 0.
  """
  generator_key, discriminator_key, base_key = jax.random.split(key, 3)
  z = jnp.zeros((1, latent_dim), jnp.float32)
  # train=False: initialising needs no batch statistics, so no mesh axis.
  generator_variables = generator.init(generator_key, z, train=False)
  images = generator.apply(generator_variables, z, train=False)
  discriminator_variables = discriminator.init(
    discriminator_key, jnp.zeros(images.shape, jnp.float32), train=False
  )
  generator_params = generator_variables['params']
  discriminator_params = discriminator_variables['params']
  return GANState(
    step=jnp.zeros((), jnp.int32),
    generator_params=generator_params,
    discriminator_params=discriminator_params,
    generator_batch_stats=generator_variables.get('batch_stats', {}),
    discriminator_batch_stats=discriminator_variables.get('batch_stats', {}),
    generator_opt_state=generator_optimizer.init(generator_params),
    discriminator_opt_state=discriminator_optimizer.init(discriminator_params),
    key=base_key,
  )


def generator_variables(state: GANState) -> dict[str, Any]:
  """G's variables as `generator.apply` takes them."""
  return {'params': state.generator_params, 'batch_stats': state.generator_batch_stats}


def discriminator_variables(state: GANState) -> dict[str, Any]:
  """D's variables as `discriminator.apply` takes them."""
  return {'params': state.discriminator_params, 'batch_stats': state.discriminator_batch_stats}
