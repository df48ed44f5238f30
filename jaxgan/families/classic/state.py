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
    generator_ema_params: an exponential moving average of G's parameters,
      or {} if the run keeps none.
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
  generator_ema_params: Any
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
  num_classes: int = 0,
  packing: int = 1,
  ema: bool = False,
) -> GANState:
  """Initialises both networks and both optimizers.

  Args:
    key: a typed PRNG key (`jax.random.key`); the run is a function of it.
    generator: maps (batch, latent_dim) noise (and labels) to images;
      called as `generator(z, labels, train=...)`.
    discriminator: maps images (and labels) to logits; called as
      `discriminator(images, labels, train=...)`.
    generator_optimizer: G's optax transform.
    discriminator_optimizer: D's optax transform.
    latent_dim: size of the noise vector z.
    num_classes: 0 for unconditional networks, else the number of classes.
    packing: D's packing degree; D is initialised with a batch of that size.
    ema: whether to keep a moving average of G's parameters (it starts at
      G's initial parameters).

  Returns:
    The state at step 0.
  """
  generator_key, discriminator_key, base_key = jax.random.split(key, 3)
  z = jnp.zeros((packing, latent_dim), jnp.float32)
  labels = jnp.zeros((packing,), jnp.int32) if num_classes else None
  # train=False: initialising needs no batch statistics, so no mesh axis.
  generator_variables = generator.init(generator_key, z, labels, train=False)
  images = generator.apply(generator_variables, z, labels, train=False)
  discriminator_variables = discriminator.init(
    discriminator_key, jnp.zeros(images.shape, jnp.float32), labels, train=False
  )
  generator_params = generator_variables['params']
  discriminator_params = discriminator_variables['params']
  return GANState(
    step=jnp.zeros((), jnp.int32),
    generator_params=generator_params,
    generator_ema_params=jax.tree.map(jnp.copy, generator_params) if ema else {},
    discriminator_params=discriminator_params,
    generator_batch_stats=generator_variables.get('batch_stats', {}),
    discriminator_batch_stats=discriminator_variables.get('batch_stats', {}),
    generator_opt_state=generator_optimizer.init(generator_params),
    discriminator_opt_state=discriminator_optimizer.init(discriminator_params),
    key=base_key,
  )


def sampling_variables(state: GANState) -> dict[str, Any]:
  """The G that samples and metrics use: the moving average if the run keeps one."""
  params = state.generator_ema_params or state.generator_params
  return {'params': params, 'batch_stats': state.generator_batch_stats}
