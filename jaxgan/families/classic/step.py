"""The classic GAN train step, per device: update D, then G.

What a step does is set by a `GAN` (`model.py`): the adversarial loss, how
many critic updates precede each G update (run as one `lax.scan` inside the
step, each on its own real batch), D's constraints and penalties (weight
clipping, the WGAN-GP and R1 penalties), feature matching, class labels, a
moving average of G, whether G's update goes through D's fakes or draws
its own, whether it goes through D before or after D's update, and in how
many passes G makes its fakes (each with BatchNorm statistics of its own).
Networks carry their own options (spectral normalisation, packing,
minibatch layers, label embeddings).

This is per-device code in the style of pmap, which the training loop runs
under `jax.shard_map` over the `data` axis (`jaxgan.parallel`): each device
sees its slice of the global batch, gradients and losses are averaged over
the axis with `lax.pmean`, and BatchNorm averages its statistics over the
same axis (the networks are built with `batch_norm_axis_name=DATA_AXIS`).
"""

from typing import Any

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import optax

from jaxgan import parallel
from jaxgan.families.classic import state as state_lib
from jaxgan.losses import adversarial
from jaxgan.losses import penalties

# What `GAN.feature_matching` may be: off, G's only loss (Salimans et al.
# 2016), or added to G's adversarial loss.
FEATURE_MATCHING = ('none', 'replace', 'add')
# The name of the stream of real examples in a batch.
REAL = 'real'


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


def generate(
  generator: nn.Module,
  params: Any,
  batch_stats: Any,
  z: jax.Array,
  labels: jax.Array | None,
  *,
  passes: int = 1,
) -> tuple[jax.Array, Any]:
  """G's fakes in training mode, made in `passes` passes with statistics of their own.

  Pass j makes the fakes of z[j], z[j + passes], z[j + 2 passes], ..., and
  its BatchNorm layers normalise with that pass's statistics alone. So with
  passes = PacGAN's m, the m points of each pack come one from each pass, as
  in PacGAN's code, which runs G once per point of a pack. The running
  statistics take the mean of the passes' updates, as PacGAN's code merges
  them.

  Args:
    generator: G.
    params: its parameters.
    batch_stats: its BatchNorm statistics.
    z: latent vectors, (batch, latent_dim); `passes` must divide batch.
    labels: (batch,) class labels, or None.
    passes: how many passes; 1 makes all the fakes in one.

  Returns:
    (fakes in the order of z, new batch stats).
  """

  def one_pass(z, labels):
    fake, stats, _ = _apply_train(generator, params, batch_stats, z, labels)
    return fake, stats

  if passes == 1:
    return one_pass(z, labels)

  def split(x):
    # (batch, ...) -> (passes, batch / passes, ...): pass j holds x[j::passes].
    return None if x is None else jnp.swapaxes(x.reshape(-1, passes, *x.shape[1:]), 0, 1)

  fakes, stats = jax.vmap(one_pass)(split(z), split(labels))
  fake = jnp.swapaxes(fakes, 0, 1).reshape(-1, *fakes.shape[2:])
  return fake, jax.tree.map(lambda s: jnp.mean(s, axis=0), stats)


def _clip(params: Any, bound: float) -> Any:
  return jax.tree.map(lambda p: jnp.clip(p, -bound, bound), params)


def train_step(gan: Any, state: state_lib.GANState, batch: dict) -> tuple[state_lib.GANState, dict]:
  """One step of `gan`, per device: D's critic updates, then one G update.

  D takes `gan.critic_steps` optimizer steps, each on its own real batch and
  G(z) for fresh z, inside one `lax.scan`; then G takes one optimizer step
  through the updated D, with fresh z again (Algorithm 1 of Goodfellow et
  al. 2014 with k = critic_steps). With `gan.generator_reuses_fakes`
  (critic_steps = 1), G's step takes its gradient through the fakes D was
  just updated on, from the same forward pass of G, as pytorch/examples'
  DCGAN does: one pass of G a step instead of two. With
  `gan.simultaneous_updates` as well, that gradient goes through D as it was
  before its update, so that both gradients are those of the step's starting
  point (ALI's and PacGAN's training).

  In a conditional GAN, D's fakes carry the labels of the real batch they
  are judged with (so both halves of D's batch have the same classes, and
  the gradient penalty interpolates within a class), and G's step draws
  labels uniformly (or, reusing D's fakes, keeps theirs).

  Args:
    gan: the `model.GAN`: networks, optimizers, losses and options.
    state: the replicated state.
    batch: `batch['real'][gan.feature]` of shape (critic_steps, local_batch,
      ...) in [-1, 1], and in a conditional GAN `batch['real']['label']`,
      int32 (critic_steps, local_batch).

  Returns:
    The new state, and metrics averaged over the global batch (and over the
    critic steps, for D's).
  """
  generator, discriminator = gan.generator, gan.discriminator
  conditional = gan.num_classes > 0
  use_features = gan.feature_matching != 'none'

  reals = batch[REAL][gan.feature]
  real_labels = batch[REAL]['label'] if conditional else None
  local_batch = reals.shape[1]
  first_example = parallel.first_example(local_batch)
  step_key = jax.random.fold_in(state.key, state.step)
  # Stream s of the step: critic step s < critic_steps, or G's step.
  noise = lambda stream: parallel.example_normal(
    jax.random.fold_in(step_key, stream),
    (gan.latent_dim,),
    first_example=first_example,
    batch_size=local_batch,
  )
  # A second set of streams, above those, for labels and penalty weights.
  other_key = lambda stream: jax.random.fold_in(step_key, gan.critic_steps + 1 + stream)

  def generate_fakes(params, z, labels):
    return generate(
      generator,
      params,
      state.generator_batch_stats,
      z,
      labels,
      passes=gan.generator_passes,
    )

  if gan.generator_reuses_fakes:
    # G runs once for the whole step: D is updated on these fakes, and
    # G's gradient is pulled back through the same pass (its VJP) from G's
    # step below, so G's statistics are updated here, once.
    first_labels = None if real_labels is None else real_labels[0]

    def generate_shared(params):
      return generate_fakes(params, noise(0), first_labels)

    shared_fake, generator_pullback, reused_batch_stats = jax.vjp(
      generate_shared, state.generator_params, has_aux=True
    )

  def critic_update(carry, inputs):
    params, opt_state, batch_stats = carry
    real, labels, stream = inputs
    if gan.generator_reuses_fakes:
      fake = shared_fake
    else:
      # G's BatchNorm statistics from this forward pass are dropped: they
      # are updated once per step, in G's own step below.
      fake, _ = generate_fakes(state.generator_params, noise(stream), labels)
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
      # The penalties' passes leave the statistics alone (the option checks
      # keep BatchNorm out of D when they are on).
      d = lambda x: _apply_train(discriminator, params, stats, x, labels)[0]
      if gan.gradient_penalty_weight:
        eps = parallel.example_uniforms(
          other_key(stream), first_example=first_example, batch_size=local_batch
        )
        terms['gradient_penalty'] = penalties.gradient_penalty(d, real, fake, eps=eps)
        loss += gan.gradient_penalty_weight * terms['gradient_penalty']
      if gan.r1_gamma:
        terms['r1_penalty'] = penalties.r1_penalty(d, real)
        loss += gan.r1_gamma / 2 * terms['r1_penalty']
      return loss, (stats, terms)

    (_, (batch_stats, terms)), grads = jax.value_and_grad(objective, has_aux=True)(params)
    grads = lax.pmean(grads, parallel.DATA_AXIS)
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

  # G step, through the D just updated, or in simultaneous updates through
  # the D that judged the same fakes in D's update.
  if gan.simultaneous_updates:
    judge_params, judge_batch_stats = state.discriminator_params, state.discriminator_batch_stats
  else:
    judge_params, judge_batch_stats = discriminator_params, discriminator_batch_stats
  generator_labels = None
  if conditional and gan.generator_reuses_fakes:
    generator_labels = real_labels[0]
  elif conditional:
    generator_labels = parallel.example_labels(
      other_key(gan.critic_steps),
      first_example=first_example,
      batch_size=local_batch,
      num_classes=gan.num_classes,
    )

  def discriminator_features(images, labels):
    # D's statistics from these passes are dropped: D is not being trained.
    return _apply_train(
      discriminator,
      judge_params,
      judge_batch_stats,
      images,
      labels,
      capture_features=use_features,
    )

  def global_mean(features):
    # Feature matching compares means over the global batch, not over
    # each device's share: the squared norm of a mean is not the mean of
    # squared norms. As in BatchNorm over an axis, the gradient of pmean
    # reaches every device's samples.
    return lax.pmean(jnp.mean(features, axis=0, keepdims=True), parallel.DATA_AXIS)

  if use_features:
    # The real side of feature matching: the last critic step's batch.
    last_labels = None if real_labels is None else real_labels[-1]
    real_features = discriminator_features(reals[-1], last_labels)[2]
    real_features = lax.stop_gradient(global_mean(real_features))

  def adversarial_objective(fake):
    """G's loss and metrics for its fakes, through the judging D."""
    fake_out, _, fake_features = discriminator_features(fake, generator_labels)
    terms = {'adversarial_generator_loss': gan.loss.generator(fake_out)}
    if use_features:
      terms['feature_matching'] = adversarial.feature_matching_loss(
        real_features, global_mean(fake_features)
      )
    if gan.feature_matching == 'replace':
      loss = terms['feature_matching']
    elif gan.feature_matching == 'add':
      loss = terms['adversarial_generator_loss'] + terms['feature_matching']
    else:
      loss = terms.pop('adversarial_generator_loss')
    terms['generator_loss'] = loss
    return loss, terms

  if gan.generator_reuses_fakes:
    (_, generator_metrics), fake_grads = jax.value_and_grad(adversarial_objective, has_aux=True)(
      shared_fake
    )
    (generator_grads,) = generator_pullback(fake_grads)
    generator_batch_stats = reused_batch_stats
  else:

    def generator_objective(params):
      fake, batch_stats = generate_fakes(params, noise(gan.critic_steps), generator_labels)
      loss, terms = adversarial_objective(fake)
      return loss, (batch_stats, terms)

    (_, (generator_batch_stats, generator_metrics)), generator_grads = jax.value_and_grad(
      generator_objective, has_aux=True
    )(state.generator_params)
  generator_grads = lax.pmean(generator_grads, parallel.DATA_AXIS)
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
  metrics = lax.pmean({**discriminator_metrics, **generator_metrics}, parallel.DATA_AXIS)
  metrics['discriminator_grad_norm'] = grad_norm
  metrics['generator_grad_norm'] = optax.tree.norm(generator_grads)
  return new_state, metrics
