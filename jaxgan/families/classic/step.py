"""The GAN train step: update D, then G, data-parallel over a `data` mesh axis.

What a step does is set by a `GAN`: the adversarial loss, how many critic
updates precede each G update (run as one `lax.scan` inside the step, each
on its own real batch), D's constraints and penalties (weight clipping, the
WGAN-GP and R1 penalties), feature matching, class labels and a moving
average of G. Networks carry their own options (spectral normalisation,
packing, minibatch layers, label embeddings).

The step is per-device code in the style of pmap: each device sees its slice
of the global batch, gradients and losses are averaged over the `data` axis
with `lax.pmean`, and BatchNorm averages its statistics over the same axis
(the networks are built with `batch_norm_axis_name=DATA_AXIS`). `jax.shard_map`
inside `jax.jit` runs it, so the same code runs on one CPU, several GPUs or a
TPU slice.
"""

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from jaxgan.losses import adversarial as losses
from jaxgan.losses import penalties
from jaxgan.families.classic import state as state_lib

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


def example_uniforms(
  key: jax.Array, *, first_example: jax.Array | int, batch_size: int
) -> jax.Array:
  """U[0, 1) numbers for examples first_example, ..., keyed like `latent_noise`."""
  indices = first_example + jnp.arange(batch_size)
  keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, indices)
  return jax.vmap(lambda k: jax.random.uniform(k, ()))(keys)


def example_labels(
  key: jax.Array, *, first_example: jax.Array | int, batch_size: int, num_classes: int
) -> jax.Array:
  """Uniformly drawn class labels for examples first_example, ..., as int32."""
  uniforms = example_uniforms(key, first_example=first_example, batch_size=batch_size)
  return jnp.minimum((uniforms * num_classes).astype(jnp.int32), num_classes - 1)


@dataclasses.dataclass(frozen=True)
class GAN:
  """A generator and discriminator with their optimizers, losses and regularisers.

  Every field past `latent_dim` is an option whose default leaves it out, so
  `GAN(generator, discriminator, g_opt, d_opt, latent_dim)` is the plain GAN
  of Goodfellow et al. 2014 with the non-saturating G loss.

  Attributes:
    generator: G, called as `generator(z, labels, train=...)`; built with
      `batch_norm_axis_name=DATA_AXIS` if it has BatchNorm.
    discriminator: D, called as `discriminator(images, labels, train=...)`;
      likewise. For feature matching it must `sow` its features into
      'intermediates' under the name 'features' (the jaxgan networks do).
    generator_optimizer: G's optax transform.
    discriminator_optimizer: D's optax transform.
    latent_dim: size of z.
    loss: the adversarial loss pair (`losses.ADVERSARIAL_LOSSES`).
    num_classes: 0 for an unconditional GAN; else G and D take class labels,
      and batches carry a `label`.
    critic_steps: D updates per G update, each on its own real batch (5 in
      WGAN and WGAN-GP).
    weight_clip: if > 0, D's parameters are clipped to [-c, c] after each of
      its updates (WGAN's Lipschitz constraint).
    gradient_penalty_weight: lambda of WGAN-GP's penalty (0 = off).
    r1_gamma: gamma of the R1 penalty on real data, gamma / 2 E||grad D||^2
      (0 = off).
    feature_matching: 'none'; 'replace': G's loss is feature matching alone
      (Salimans et al. 2016); 'add': G's adversarial loss plus feature
      matching.
    ema_decay: if > 0, an exponential moving average of G's parameters with
      this decay is kept, and samples and metrics come from it.
    packing: PacGAN's m: D judges m samples at once (it packs them itself);
      D is initialised with a batch of m.
  """

  generator: nn.Module
  discriminator: nn.Module
  generator_optimizer: optax.GradientTransformation
  discriminator_optimizer: optax.GradientTransformation
  latent_dim: int
  loss: losses.AdversarialLoss = losses.ADVERSARIAL_LOSSES['non_saturating']
  num_classes: int = 0
  critic_steps: int = 1
  weight_clip: float = 0.0
  gradient_penalty_weight: float = 0.0
  r1_gamma: float = 0.0
  feature_matching: str = 'none'
  ema_decay: float = 0.0
  packing: int = 1


def _apply_train(
  module: nn.Module,
  params: Any,
  batch_stats: Any,
  inputs: jax.Array,
  labels: jax.Array | None,
  *,
  capture_features: bool = False,
) -> tuple[jax.Array, Any, jax.Array | None]:
  """Applies a module in training mode.

  Returns:
    (outputs, new batch stats, D's sown features or None).
  """
  mutable = ['batch_stats', 'intermediates'] if capture_features else ['batch_stats']
  outputs, updates = module.apply(
    {'params': params, 'batch_stats': batch_stats}, inputs, labels, train=True, mutable=mutable
  )
  features = updates['intermediates']['features'][0] if capture_features else None
  return outputs, updates.get('batch_stats', {}), features


def _clip(params: Any, bound: float) -> Any:
  return jax.tree.map(lambda p: jnp.clip(p, -bound, bound), params)


def make_train_step(
  gan: GAN, mesh: jax.sharding.Mesh
) -> Callable[[state_lib.GANState, Batch], tuple[state_lib.GANState, Metrics]]:
  """Builds the jitted, donated, data-parallel train step of `gan`.

  One call: D takes `gan.critic_steps` optimizer steps, each on its own
  real batch and G(z) for fresh z, inside one `lax.scan`; then G takes one
  optimizer step through the updated D, with fresh z again (Algorithm 1 of
  Goodfellow et al. 2014 with k = critic_steps).

  In a conditional GAN, D's fakes carry the labels of the real batch they
  are judged with (so both halves of D's batch have the same classes, and
  the gradient penalty interpolates within a class), and G's step draws
  labels uniformly.

  Args:
    gan: networks, optimizers, losses and options.
    mesh: a mesh with a `data` axis; the batch is split over it.

  Returns:
    `train_step(state, batch) -> (state, metrics)`. `state` is replicated
    and donated. `batch['image']` has shape (critic_steps, global_batch,
    H, W, C), sharded over `data` along its second axis, as does
    `batch['label']` ((critic_steps, global_batch) int32) in a conditional
    GAN. Metrics are averages over the global batch (and over the critic
    steps, for D's).
  """
  generator, discriminator = gan.generator, gan.discriminator
  conditional = gan.num_classes > 0
  use_features = gan.feature_matching != 'none'

  def per_device_step(state: state_lib.GANState, batch: Batch):
    reals = batch['image']
    real_labels = batch['label'] if conditional else None
    local_batch = reals.shape[1]
    first_example = lax.axis_index(DATA_AXIS) * local_batch
    step_key = jax.random.fold_in(state.key, state.step)
    # Stream s of the step: critic step s < critic_steps, or G's step.
    noise = lambda stream: latent_noise(
      jax.random.fold_in(step_key, stream),
      first_example=first_example,
      batch_size=local_batch,
      latent_dim=gan.latent_dim,
    )
    # A second set of streams, above those, for labels and penalty weights.
    other_key = lambda stream: jax.random.fold_in(step_key, gan.critic_steps + 1 + stream)

    def critic_update(carry, inputs):
      params, opt_state, batch_stats = carry
      real, labels, stream = inputs
      # G's BatchNorm statistics from this forward pass are dropped: they
      # are updated once per step, in G's own step below.
      fake, _, _ = _apply_train(
        generator, state.generator_params, state.generator_batch_stats, noise(stream), labels
      )
      fake = lax.stop_gradient(fake)

      def objective(params):
        # Real and fake go through D as separate batches, each normalised
        # with its own statistics, as the DCGAN reference trainer does.
        real_out, stats, _ = _apply_train(discriminator, params, batch_stats, real, labels)
        fake_out, stats, _ = _apply_train(discriminator, params, stats, fake, labels)
        loss = gan.loss.discriminator(real_out, fake_out)
        terms = {
          'discriminator_loss': loss,
          'real_output': jnp.mean(real_out),
          'fake_output': jnp.mean(fake_out),
        }
        if gan.loss.outputs_are_logits:
          terms['d_real'] = jnp.mean(jax.nn.sigmoid(real_out))
          terms['d_fake'] = jnp.mean(jax.nn.sigmoid(fake_out))
        # The penalties' passes leave the statistics alone (check_config
        # keeps BatchNorm out of D when they are on).
        d = lambda x: _apply_train(discriminator, params, stats, x, labels)[0]
        if gan.gradient_penalty_weight:
          eps = example_uniforms(
            other_key(stream), first_example=first_example, batch_size=local_batch
          )
          terms['gradient_penalty'] = penalties.gradient_penalty(d, real, fake, eps=eps)
          loss += gan.gradient_penalty_weight * terms['gradient_penalty']
        if gan.r1_gamma:
          terms['r1_penalty'] = penalties.r1_penalty(d, real)
          loss += gan.r1_gamma / 2 * terms['r1_penalty']
        return loss, (stats, terms)

      (_, (batch_stats, terms)), grads = jax.value_and_grad(objective, has_aux=True)(params)
      grads = lax.pmean(grads, DATA_AXIS)
      updates, opt_state = gan.discriminator_optimizer.update(grads, opt_state, params)
      params = optax.apply_updates(params, updates)
      if gan.weight_clip:
        params = _clip(params, gan.weight_clip)
      terms['discriminator_grad_norm'] = optax.tree.norm(grads)
      return (params, opt_state, batch_stats), terms

    carry = (
      state.discriminator_params,
      state.discriminator_opt_state,
      state.discriminator_batch_stats,
    )
    if gan.critic_steps == 1:
      first = lambda x: None if x is None else x[0]
      carry, discriminator_metrics = critic_update(carry, (reals[0], first(real_labels), 0))
    else:
      carry, discriminator_metrics = lax.scan(
        critic_update, carry, (reals, real_labels, jnp.arange(gan.critic_steps))
      )
      discriminator_metrics = jax.tree.map(lambda m: jnp.mean(m, axis=0), discriminator_metrics)
    discriminator_params, discriminator_opt_state, discriminator_batch_stats = carry

    # G step, through the D just updated.
    generator_labels = None
    if conditional:
      generator_labels = example_labels(
        other_key(gan.critic_steps),
        first_example=first_example,
        batch_size=local_batch,
        num_classes=gan.num_classes,
      )

    def discriminator_features(images, labels):
      # D's statistics from these passes are dropped: D is not being trained.
      return _apply_train(
        discriminator,
        discriminator_params,
        discriminator_batch_stats,
        images,
        labels,
        capture_features=use_features,
      )

    def global_mean(features):
      # Feature matching compares means over the global batch, not over
      # each device's share: the squared norm of a mean is not the mean of
      # squared norms. As in BatchNorm over an axis, the gradient of pmean
      # reaches every device's samples.
      return lax.pmean(jnp.mean(features, axis=0, keepdims=True), DATA_AXIS)

    if use_features:
      # The real side of feature matching: the last critic step's batch.
      last_labels = None if real_labels is None else real_labels[-1]
      real_features = discriminator_features(reals[-1], last_labels)[2]
      real_features = lax.stop_gradient(global_mean(real_features))

    def generator_objective(params):
      fake, batch_stats, _ = _apply_train(
        generator, params, state.generator_batch_stats, noise(gan.critic_steps), generator_labels
      )
      fake_out, _, fake_features = discriminator_features(fake, generator_labels)
      terms = {'adversarial_generator_loss': gan.loss.generator(fake_out)}
      if use_features:
        terms['feature_matching'] = losses.feature_matching_loss(
          real_features, global_mean(fake_features)
        )
      if gan.feature_matching == 'replace':
        loss = terms['feature_matching']
      elif gan.feature_matching == 'add':
        loss = terms['adversarial_generator_loss'] + terms['feature_matching']
      else:
        loss = terms.pop('adversarial_generator_loss')
      terms['generator_loss'] = loss
      return loss, (batch_stats, terms)

    (_, (generator_batch_stats, generator_metrics)), generator_grads = jax.value_and_grad(
      generator_objective, has_aux=True
    )(state.generator_params)
    generator_grads = lax.pmean(generator_grads, DATA_AXIS)
    updates, generator_opt_state = gan.generator_optimizer.update(
      generator_grads, state.generator_opt_state, state.generator_params
    )
    generator_params = optax.apply_updates(state.generator_params, updates)
    generator_ema_params = state.generator_ema_params
    if gan.ema_decay:
      generator_ema_params = optax.incremental_update(
        generator_params, generator_ema_params, step_size=1 - gan.ema_decay
      )

    new_state = state.replace(
      step=state.step + 1,
      generator_params=generator_params,
      generator_ema_params=generator_ema_params,
      discriminator_params=discriminator_params,
      generator_batch_stats=generator_batch_stats,
      discriminator_batch_stats=discriminator_batch_stats,
      generator_opt_state=generator_opt_state,
      discriminator_opt_state=discriminator_opt_state,
    )
    # D's gradient norm is already of the pmean-ed gradient.
    grad_norm = discriminator_metrics.pop('discriminator_grad_norm')
    metrics = lax.pmean({**discriminator_metrics, **generator_metrics}, DATA_AXIS)
    metrics['discriminator_grad_norm'] = grad_norm
    metrics['generator_grad_norm'] = optax.tree.norm(generator_grads)
    return new_state, metrics

  # check_vma=False gives pmap's semantics: inside the step every value is
  # per-device, so the gradient of the replicated parameters is each
  # device's own and the explicit pmean above averages them. With the
  # varying-axes checker on, JAX would instead sum those gradients over the
  # axis by itself (the transpose of broadcasting a replicated value), and
  # the hand-written VJPs of jaxgan.layers would have to do the same.
  batch_spec = P(None, DATA_AXIS)
  step = jax.shard_map(
    per_device_step, mesh=mesh, in_specs=(P(), batch_spec), out_specs=(P(), P()), check_vma=False
  )
  return jax.jit(step, donate_argnums=0)


def make_sample_fn(
  generator: nn.Module,
) -> Callable[[state_lib.GANState, jax.Array, jax.Array | None], jax.Array]:
  """A jitted `sample(state, z, labels=None) -> images` in inference mode.

  BatchNorm uses its running statistics, and G's parameters are the moving
  average when the run keeps one (`GAN.ema_decay`).
  """

  @jax.jit
  def sample(state: state_lib.GANState, z: jax.Array, labels: jax.Array | None = None):
    return generator.apply(state_lib.sampling_variables(state), z, labels, train=False)

  return sample
