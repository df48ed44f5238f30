"""The GAN train step: update D, then G, data-parallel over a `data` mesh axis.

The step is per-device code in the style of pmap: each device sees its slice
of the global batch, gradients and losses are averaged over the `data` axis
with `lax.pmean`, and BatchNorm averages its statistics over the same axis
(the networks are built with `batch_norm_axis_name=DATA_AXIS`). `jax.shard_map`
inside `jax.jit` runs it, so the same code runs on one CPU, several GPUs or a
TPU slice.
"""

from typing import Any, Callable

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from jaxgan import losses
from jaxgan import state as state_lib

DATA_AXIS = 'data'

Batch = dict[str, jax.Array]
Metrics = dict[str, jax.Array]


def make_data_mesh(devices: Any = None) -> jax.sharding.Mesh:
  """A one-axis mesh named `data` over all devices (or the ones given)."""
  devices = jax.devices() if devices is None else list(devices)
  return jax.make_mesh((len(devices),), (DATA_AXIS,), devices=devices)


def latent_noise(
  key: jax.Array, *, first_example: jax.Array | int, batch_size: int, latent_dim: int
) -> jax.Array:
  """Standard normal noise for examples first_example, first_example + 1, ...

  Each example's noise is drawn from the key folded with its index in the
  global batch. A device that holds examples [i * b, (i + 1) * b) thus draws
  its own noise from its index, and the global batch's noise does not depend
  on how many devices share it: a run on 8 devices follows the same
  trajectory as on 1, up to float summation order.

  Args:
    key: a typed PRNG key.
    first_example: index in the global batch of the first example.
    batch_size: number of examples.
    latent_dim: size of each noise vector.

  Returns:
    (batch_size, latent_dim) float32 noise.
  """
  indices = first_example + jnp.arange(batch_size)
  keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, indices)
  return jax.vmap(lambda k: jax.random.normal(k, (latent_dim,)))(keys)


def _apply_train(
  module: nn.Module, params: Any, batch_stats: Any, inputs: jax.Array
) -> tuple[jax.Array, Any]:
  """Applies a module in training mode; returns outputs and new batch stats."""
  outputs, updates = module.apply(
    {'params': params, 'batch_stats': batch_stats}, inputs, train=True, mutable=['batch_stats']
  )
  return outputs, updates.get('batch_stats', {})


def make_train_step(
  *,
  generator: nn.Module,
  discriminator: nn.Module,
  generator_optimizer: optax.GradientTransformation,
  discriminator_optimizer: optax.GradientTransformation,
  generator_loss: Callable[[jax.Array], jax.Array],
  latent_dim: int,
  mesh: jax.sharding.Mesh,
) -> Callable[[state_lib.GANState, Batch], tuple[state_lib.GANState, Metrics]]:
  """Builds the jitted, donated, data-parallel train step.

  One call: D takes one optimizer step on the real batch and G(z) for fresh
  z, then G takes one optimizer step through the updated D, with fresh z
  again, as Algorithm 1 of Goodfellow et al. 2014 does with k = 1.

  Args:
    generator: G, built with `batch_norm_axis_name=DATA_AXIS` if it has
      BatchNorm.
    discriminator: D, likewise.
    generator_optimizer: G's optax transform.
    discriminator_optimizer: D's optax transform.
    generator_loss: maps D's logits on G(z) to G's loss (`jaxgan.losses`).
    latent_dim: size of z.
    mesh: a mesh with a `data` axis; the batch is split over it.

  Returns:
    `train_step(state, batch) -> (state, metrics)`. `state` is replicated
    and donated; `batch['image']` is the global batch, sharded over `data`.
    Metrics are averages over the global batch.
  """

  def per_device_step(state: state_lib.GANState, batch: Batch):
    real = batch['image']
    local_batch = real.shape[0]
    first_example = lax.axis_index(DATA_AXIS) * local_batch
    step_key = jax.random.fold_in(state.key, state.step)
    noise = lambda stream: latent_noise(
      jax.random.fold_in(step_key, stream),
      first_example=first_example,
      batch_size=local_batch,
      latent_dim=latent_dim,
    )

    # D step. G's BatchNorm statistics from this forward pass are dropped:
    # they are updated once per step, in G's own step below.
    fake, _ = _apply_train(generator, state.generator_params, state.generator_batch_stats, noise(0))
    fake = lax.stop_gradient(fake)

    def discriminator_objective(params):
      # Real and fake go through D as separate batches, each normalised with
      # its own statistics, as the DCGAN reference trainer does.
      real_logits, batch_stats = _apply_train(
        discriminator, params, state.discriminator_batch_stats, real
      )
      fake_logits, batch_stats = _apply_train(discriminator, params, batch_stats, fake)
      loss = losses.discriminator_loss(real_logits, fake_logits)
      return loss, (batch_stats, real_logits, fake_logits)

    (
      (discriminator_loss, (discriminator_batch_stats, real_logits, fake_logits)),
      discriminator_grads,
    ) = jax.value_and_grad(discriminator_objective, has_aux=True)(state.discriminator_params)
    discriminator_grads = lax.pmean(discriminator_grads, DATA_AXIS)
    updates, discriminator_opt_state = discriminator_optimizer.update(
      discriminator_grads, state.discriminator_opt_state, state.discriminator_params
    )
    discriminator_params = optax.apply_updates(state.discriminator_params, updates)

    # G step, through the D just updated.
    def generator_objective(params):
      fake, batch_stats = _apply_train(generator, params, state.generator_batch_stats, noise(1))
      # D's statistics from this pass are dropped: D is not being trained.
      logits, _ = _apply_train(discriminator, discriminator_params, discriminator_batch_stats, fake)
      return generator_loss(logits), batch_stats

    (generator_loss_value, generator_batch_stats), generator_grads = jax.value_and_grad(
      generator_objective, has_aux=True
    )(state.generator_params)
    generator_grads = lax.pmean(generator_grads, DATA_AXIS)
    updates, generator_opt_state = generator_optimizer.update(
      generator_grads, state.generator_opt_state, state.generator_params
    )
    generator_params = optax.apply_updates(state.generator_params, updates)

    new_state = state.replace(
      step=state.step + 1,
      generator_params=generator_params,
      discriminator_params=discriminator_params,
      generator_batch_stats=generator_batch_stats,
      discriminator_batch_stats=discriminator_batch_stats,
      generator_opt_state=generator_opt_state,
      discriminator_opt_state=discriminator_opt_state,
    )
    metrics = {
      'discriminator_loss': discriminator_loss,
      'generator_loss': generator_loss_value,
      'd_real': jnp.mean(jax.nn.sigmoid(real_logits)),
      'd_fake': jnp.mean(jax.nn.sigmoid(fake_logits)),
    }
    metrics = lax.pmean(metrics, DATA_AXIS)
    metrics['discriminator_grad_norm'] = optax.tree.norm(discriminator_grads)
    metrics['generator_grad_norm'] = optax.tree.norm(generator_grads)
    return new_state, metrics

  # check_vma=False gives pmap's semantics: inside the step every value is
  # per-device, so the gradient of the replicated parameters is each
  # device's own and the explicit pmean above averages them. With the
  # varying-axes checker on, JAX would instead sum those gradients over the
  # axis by itself (the transpose of broadcasting a replicated value), and
  # the hand-written VJPs of jaxgan.layers would have to do the same.
  step = jax.shard_map(
    per_device_step, mesh=mesh, in_specs=(P(), P(DATA_AXIS)), out_specs=(P(), P()), check_vma=False
  )
  return jax.jit(step, donate_argnums=0)


def make_sample_fn(generator: nn.Module) -> Callable[[state_lib.GANState, jax.Array], jax.Array]:
  """A jitted `sample(state, z) -> images` with BatchNorm in inference mode."""

  @jax.jit
  def sample(state: state_lib.GANState, z: jax.Array) -> jax.Array:
    return generator.apply(state_lib.generator_variables(state), z, train=False)

  return sample
