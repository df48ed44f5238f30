"""Tests of the classic family's train step, run data-parallel as the loop runs it.

Every step here goes through `jaxgan.train.steps.make_train_call` (shard_map
over the `data` mesh axis, jit, the state donated), one step per call.
"""

import json
import os
import subprocess
import sys
import textwrap

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from configs import gan as gan_config
from jaxgan import data
from jaxgan import families
from jaxgan import parallel
from jaxgan.families.classic import dcgan
from jaxgan.families.classic import mlp
from jaxgan.families.classic import model as model_lib
from jaxgan.families.classic import step as step_lib
from jaxgan.losses import adversarial as losses
from jaxgan.train import compilation
from jaxgan.train import steps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Shared, so that GANs built alike are equal and share a compiled step.
SGD = optax.sgd(0.1)
ADAM = optax.adam(1e-3)


def small_models(model: str):
  """Tiny versions of the two networks, with cross-device BatchNorm."""
  if model == 'gan':
    return (
      mlp.MLPGenerator(
        image_shape=(8, 8, 1), hidden_features=(16, 32), batch_norm_axis_name=parallel.DATA_AXIS
      ),
      mlp.MLPDiscriminator(hidden_features=(32, 16)),
    )
  return (
    dcgan.DCGANGenerator(
      channels=1,
      stem_size=4,
      features=(16, 8),
      upsample_to_image=False,
      batch_norm_axis_name=parallel.DATA_AXIS,
    ),
    dcgan.DCGANDiscriminator(features=(8, 16), batch_norm_axis_name=parallel.DATA_AXIS),
  )


def small_gan(model, optimizer, *, generator_optimizer=None, **options):
  """A `model.GAN` of the tiny networks; `options` are `GAN` fields or D fields."""
  num_classes = options.get('num_classes', 0)
  module_fields = {
    name: options.pop(name)
    for name in ('spectral_norm', 'normalization', 'minibatch_discrimination', 'conditioning')
    if name in options
  }
  generator, discriminator = small_models(model)
  return model_lib.GAN(
    generator=generator.clone(num_classes=num_classes),
    discriminator=discriminator.clone(num_classes=num_classes, **module_fields),
    generator_optimizer=generator_optimizer or optimizer,
    discriminator_optimizer=optimizer,
    latent_dim=10,
    **options,
  )


# The loop's train call of each (GAN, mesh), made once: a test that runs the
# same GAN again (on other data) reuses its compiled step.
_TRAIN_CALLS = {}


def setup_gan(gan, mesh):
  """The replicated step-0 state, and `train_step(state, batch) -> (state, metrics)`.

  `train_step` is the loop's train call (`steps.make_train_call`) for one
  step: `batch` is what `image_batch` returns, and the metrics lose the
  call's leading axis.
  """
  state = jax.device_put(gan.init(jax.random.key(0)), NamedSharding(mesh, P()))
  if (gan, mesh) not in _TRAIN_CALLS:
    _TRAIN_CALLS[gan, mesh] = steps.make_train_call(gan, mesh, gan.state_partition(state))
  call = _TRAIN_CALLS[gan, mesh]

  def train_step(state, batch):
    state, metrics = call(state, batch)
    return state, jax.tree.map(lambda m: m[0], metrics)

  return state, train_step


def setup(model, mesh, optimizer, generator_loss=losses.non_saturating_generator_loss, **options):
  loss = losses.AdversarialLoss(losses.discriminator_loss, generator_loss, True)
  return setup_gan(small_gan(model, optimizer, loss=loss, **options), mesh)


def shard(mesh, batch):
  """A call's batches, `batch[stream][feature]` of (1, critic_steps, global_batch, ...)."""
  return jax.device_put(batch, NamedSharding(mesh, steps.BATCH_PARTITION))


def image_batch(mesh, seed, size=16, critic_steps=1, num_classes=0):
  """One step's (critic_steps, size, 8, 8, 1) images in [-1, 1], and labels if asked."""
  key = jax.random.key(seed)
  images = jax.random.uniform(key, (1, critic_steps, size, 8, 8, 1), minval=-1, maxval=1)
  real = {'image': images}
  if num_classes:
    real['label'] = jax.random.randint(jax.random.fold_in(key, 1), images.shape[:3], 0, num_classes)
  return shard(mesh, {step_lib.REAL: real})


@pytest.mark.parametrize('model', ['gan', 'dcgan'])
def test_steps_are_finite_and_compile_once(model):
  mesh = parallel.make_data_mesh()
  # The loss is traced once per compilation of the step: a second trace
  # would mean the step recompiled.
  chex.clear_trace_counter()  # Counts are kept per function across tests.
  traced_loss = chex.assert_max_traces(losses.non_saturating_generator_loss, n=1)
  state, train_step = setup(model, mesh, optax.adam(1e-3, b1=0.5), traced_loss)
  before = jax.device_get(
    (state.generator_params, state.generator_batch_stats, state.discriminator_params)
  )
  for i in range(3):
    state, metrics = train_step(state, image_batch(mesh, i))
    chex.assert_tree_all_finite(
      (state.generator_params, state.discriminator_params, state.generator_opt_state, metrics)
    )
  assert int(state.step) == 3
  assert set(metrics) >= {
    'discriminator_loss',
    'generator_loss',
    'd_real',
    'd_fake',
    'discriminator_grad_norm',
    'generator_grad_norm',
  }
  assert 0 < float(metrics['d_real']) < 1 and 0 < float(metrics['d_fake']) < 1
  # Both networks and G's BatchNorm statistics moved.
  after = jax.device_get(
    (state.generator_params, state.generator_batch_stats, state.discriminator_params)
  )
  moved = jax.tree.map(lambda a, b: bool(np.any(a != b)), before, after)
  assert all(jax.tree.leaves(moved))


def test_state_is_donated_where_jax_donates_right():
  mesh = parallel.make_data_mesh()
  state, train_step = setup('gan', mesh, SGD)
  old = state
  state, _ = train_step(state, image_batch(mesh, 0))
  # jax 0.7.2 computes a wrong step from a donated state: there it is copied.
  donated = compilation.donate_argnums(0) == (0,)
  assert jax.tree.leaves(old.generator_params)[0].is_deleted() == donated
  assert not jax.tree.leaves(state.generator_params)[0].is_deleted()


def test_a_donated_call_computes_the_steps_of_an_undonated_one_bit_for_bit(monkeypatch):
  # Donating the state only lends its buffers to the next step. jax 0.7.2
  # computed other parameters from a donated state of configs/gan.py (4e-4
  # after 2 steps, 1e-2 after 20; the tiny networks above showed nothing),
  # so there the train call copies the state on the CPU. Donation is forced
  # here on every version: where the loop donates this is its call, and on
  # 0.7.2 it checks that with XNNPACK off (compilation.compiler_options) a
  # donated state computes the right step; a jax that donates wrong fails.
  monkeypatch.setattr(compilation, 'donate_argnums', lambda *argnums: argnums)
  config = gan_config.get_config()
  info = data.DatasetInfo(
    source='random', shape=(28, 28, 1), num_classes=None, num_examples=100, feature='image'
  )
  gan = families.load(config.family).build(config, {'real': info})
  mesh = parallel.make_data_mesh()
  images = np.random.default_rng(0).uniform(-1, 1, (2, 1, 1, config.batch_size, 28, 28, 1))

  def two_steps():
    state = jax.device_put(gan.init(jax.random.key(0)), NamedSharding(mesh, P()))
    first_leaf = jax.tree.leaves(state.generator_params)[0]
    call = steps.make_train_call(gan, mesh, gan.state_partition(state))
    for step_images in images.astype(np.float32):
      state, _ = call(state, shard(mesh, {step_lib.REAL: {'image': step_images}}))
    params = jax.device_get((state.generator_params, state.discriminator_params))
    return first_leaf.is_deleted(), params

  # Whether the first state's buffers were given up: without that check a
  # donation that did not take would compare two copied calls and pass.
  was_donated, donated = two_steps()
  monkeypatch.setattr(compilation, 'donate_argnums', lambda *argnums: ())
  was_copied_deleted, undonated = two_steps()
  assert was_donated and not was_copied_deleted
  jax.tree.map(np.testing.assert_array_equal, donated, undonated)


def run_steps(gan, num_steps=2, *, critic_steps=1, num_classes=0, batches=None):
  mesh = parallel.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  for i in range(num_steps):
    batch = batches[i] if batches else image_batch(mesh, i, 16, critic_steps, num_classes)
    state, metrics = train_step(state, batch)
  return jax.device_get(state), {k: float(v) for k, v in jax.device_get(metrics).items()}


@pytest.mark.parametrize('loss_name', sorted(losses.ADVERSARIAL_LOSSES))
def test_every_loss_trains_with_finite_losses(loss_name):
  loss = losses.ADVERSARIAL_LOSSES[loss_name]
  options = dict(weight_clip=0.1) if loss_name == 'wasserstein' else {}
  state, metrics = run_steps(small_gan('gan', ADAM, loss=loss, **options), 3)
  chex.assert_tree_all_finite((state.generator_params, state.discriminator_params, metrics))
  # The sigmoid-read probabilities only where D's output is a logit.
  assert ('d_real' in metrics) == loss.outputs_are_logits


def adam_count(opt_state):
  return int(optax.tree_utils.tree_get(opt_state, 'count'))


def max_difference(a, b):
  return max(jax.tree.leaves(jax.tree.map(lambda x, y: float(np.max(np.abs(x - y))), a, b)))


def test_critic_steps_update_d_once_per_real_batch():
  gan = small_gan('gan', ADAM, critic_steps=3)
  mesh = parallel.make_data_mesh()
  batch = image_batch(mesh, 0, 16, critic_steps=3)
  state, _ = run_steps(gan, 1, batches=[batch])
  assert adam_count(state.discriminator_opt_state) == 3
  assert adam_count(state.generator_opt_state) == 1
  # Each of the three real batches enters D's training: changing any one
  # of them changes D.
  for j in range(3):
    images = np.array(batch[step_lib.REAL]['image'])
    images[0, j] = -images[0, j]
    other, _ = run_steps(gan, 1, batches=[shard(mesh, {step_lib.REAL: {'image': images}})])
    assert max_difference(state.discriminator_params, other.discriminator_params) > 0, j


def test_weight_clipping_bounds_every_parameter_of_d():
  # Large SGD steps push many parameters past the bound.
  state, _ = run_steps(small_gan('gan', optax.sgd(10.0), weight_clip=0.01), 1)
  largest = max(float(np.max(np.abs(p))) for p in jax.tree.leaves(state.discriminator_params))
  assert largest == pytest.approx(0.01)


@pytest.mark.parametrize('penalty', ['gradient_penalty_weight', 'r1_gamma'])
def test_penalties_enter_the_discriminator_update(penalty):
  plain, _ = run_steps(small_gan('gan', SGD), 1)
  penalised, metrics = run_steps(small_gan('gan', SGD, **{penalty: 10.0}), 1)
  name = 'gradient_penalty' if penalty == 'gradient_penalty_weight' else 'r1_penalty'
  assert np.isfinite(metrics[name]) and metrics[name] > 0
  # Same G, same data: D differs by the penalty's gradient alone.
  assert max_difference(plain.discriminator_params, penalised.discriminator_params) > 1e-6


# ---------------------------------------------------------------------------
# The penalty weights, against a hand computation.
#
# G is a constant image f (a parameter; z is ignored) and D is linear,
# D(x) = w . x + b, so with the Wasserstein loss everything is in closed form:
#   D's loss           mean D(f) - mean D(x_real) = w . (f - mean x_real),
#   its w-gradient     f - mean x_real (and 0 for b),
#   grad_x D           w for every input, whatever the interpolation eps is:
#   WGAN-GP            (||w|| - 1)^2,  w-gradient 2 (||w|| - 1) w / ||w||,
#   R1                 ||w||^2,        w-gradient 2 w (entering as gamma / 2).
# With SGD the update is -lr times the gradient.

LINEAR_W = np.array([0.3, -0.2, 0.1, 0.4], np.float32)  # ||w|| = 0.548, not 1.
LINEAR_B = np.float32(0.1)
CONSTANT_IMAGE = np.array([0.5, -0.5, 0.25, 0.75], np.float32).reshape(2, 2, 1)
PENALTY_LEARNING_RATE = 0.1
PENALTY_SGD = optax.sgd(PENALTY_LEARNING_RATE)


class ConstantGenerator(nn.Module):
  """G(z) = one learned image, whatever z is."""

  @nn.compact
  def __call__(self, z, labels=None, *, train):
    image = self.param('image', lambda key: jnp.asarray(CONSTANT_IMAGE))
    return jnp.broadcast_to(image, (z.shape[0], *image.shape))


class LinearDiscriminator(nn.Module):
  """D(x) = w . flatten(x) + b, starting at LINEAR_W and LINEAR_B."""

  @nn.compact
  def __call__(self, x, labels=None, *, train):
    w = self.param('w', lambda key: jnp.asarray(LINEAR_W))
    b = self.param('b', lambda key: jnp.asarray(LINEAR_B))
    return x.reshape(x.shape[0], -1) @ w + b


def linear_gan_state(generator=None, latent_dim=3, **options):
  """One step of G (constant unless given) and the linear D on a fixed batch.

  Returns (the state after it, metrics), on the host.
  """
  gan = model_lib.GAN(
    generator=generator or ConstantGenerator(),
    discriminator=LinearDiscriminator(),
    generator_optimizer=PENALTY_SGD,
    discriminator_optimizer=PENALTY_SGD,
    latent_dim=latent_dim,
    loss=losses.ADVERSARIAL_LOSSES['wasserstein'],
    **options,
  )
  mesh = parallel.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  state, metrics = train_step(state, shard(mesh, {step_lib.REAL: {'image': linear_reals()}}))
  return jax.device_get((state, metrics))


def linear_gan_step(generator=None, latent_dim=3, **options):
  """`linear_gan_state`'s (D after the step, G after it, metrics)."""
  state, metrics = linear_gan_state(generator, latent_dim, **options)
  return state.discriminator_params, state.generator_params, metrics


def linear_reals():
  """The real batch, (1 step, 1 critic step, 8, 2, 2, 1)."""
  return np.asarray(jax.random.uniform(jax.random.key(5), (1, 1, 8, 2, 2, 1), minval=-1, maxval=1))


def hand_linear_step(*, gradient_penalty_weight=0.0, r1_gamma=0.0, simultaneous_updates=False):
  """What `linear_gan_step` should give, from the formulas above."""
  w, f = LINEAR_W.astype(np.float64), CONSTANT_IMAGE.ravel().astype(np.float64)
  mean_real = linear_reals().reshape(8, 4).astype(np.float64).mean(axis=0)
  norm = np.linalg.norm(w)
  gradient = f - mean_real
  gradient = gradient + gradient_penalty_weight * 2 * (norm - 1) * w / norm
  gradient = gradient + r1_gamma / 2 * 2 * w
  new_w = w - PENALTY_LEARNING_RATE * gradient
  # G's step goes through the D just updated, or in simultaneous updates
  # the D before it: G's loss -mean D(f) has the f-gradient -w of that D.
  judge_w = w if simultaneous_updates else new_w
  new_f = f + PENALTY_LEARNING_RATE * judge_w
  metrics = {
    'discriminator_loss': w @ (f - mean_real),
    'real_output': w @ mean_real + LINEAR_B,
    'fake_output': w @ f + LINEAR_B,
    'gradient_penalty': (norm - 1) ** 2,
    'r1_penalty': norm**2,
    'generator_loss': -(judge_w @ f + LINEAR_B),
  }
  return new_w, new_f, metrics


@pytest.mark.parametrize(
  'penalty',
  [
    dict(gradient_penalty_weight=10.0),
    dict(gradient_penalty_weight=0.0),
    # gamma = 4, not 2: with gamma / 2 = 1 a penalty logged weighted would
    # look the same as one logged as it is.
    dict(r1_gamma=4.0),
    dict(r1_gamma=0.0),
  ],
  ids=['gp_10', 'gp_0', 'r1_4', 'r1_0'],
)
@pytest.mark.parametrize(
  'update',
  [
    dict(generator_reuses_fakes=False),
    dict(generator_reuses_fakes=True),
    dict(generator_reuses_fakes=True, simultaneous_updates=True),
  ],
  ids=['fresh_z', 'reused_fakes', 'simultaneous'],
)
def test_d_update_is_the_hand_computed_one_with_the_penalty_weighted(penalty, update):
  # A constant G makes the same fakes either way, so G's update through the
  # reused pass of G (its VJP) must be the hand-computed one too.
  d_params, g_params, metrics = linear_gan_step(**penalty, **update)
  new_w, new_f, hand = hand_linear_step(
    **penalty, simultaneous_updates=update.get('simultaneous_updates', False)
  )
  np.testing.assert_allclose(d_params['w'], new_w, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(d_params['b'], LINEAR_B, rtol=1e-6)  # Its gradient is 0.
  np.testing.assert_allclose(g_params['image'].ravel(), new_f, rtol=1e-5, atol=1e-6)
  # A penalty is logged unweighted, and only when it is on.
  assert ('gradient_penalty' in metrics) == bool(penalty.get('gradient_penalty_weight'))
  assert ('r1_penalty' in metrics) == bool(penalty.get('r1_gamma'))
  names = ['discriminator_loss', 'real_output', 'fake_output', 'generator_loss']
  for name in names + [n for n in ('gradient_penalty', 'r1_penalty') if n in metrics]:
    np.testing.assert_allclose(metrics[name], hand[name], rtol=1e-5, atol=1e-6, err_msg=name)


class LinearGenerator(nn.Module):
  """G(z) = z A, reshaped to a 2x2 image: z's 4 numbers decide the image."""

  @nn.compact
  def __call__(self, z, labels=None, *, train):
    a = self.param('a', lambda key: jnp.asarray(LINEAR_A))
    return (z @ a).reshape(z.shape[0], *CONSTANT_IMAGE.shape)


LINEAR_A = np.array(
  [[1.0, 0.2, 0.0, 0.1], [0.0, 0.8, 0.3, 0.0], [0.2, 0.0, 1.2, 0.1], [0.0, 0.1, 0.0, 0.9]],
  np.float32,
)


@pytest.mark.parametrize('update', ['reused_fakes', 'fresh_z', 'simultaneous'])
def test_g_reusing_ds_fakes_steps_on_the_z_that_d_saw(update):
  # Linear G and D, Wasserstein loss, SGD: D's update is
  #   w' = w - lr (mean(z) A - mean(real)),
  # which reveals the mean z of D's fakes; G's loss -mean(v . z A) then
  # moves A by lr * outer(mean z of G's batch, v), where v is w' (through
  # the updated D) or w (simultaneous updates). Reusing D's fakes, the two
  # means are the same z; drawing fresh z, they are not.
  simultaneous = update == 'simultaneous'
  d_params, g_params, metrics = linear_gan_step(
    generator=LinearGenerator(),
    latent_dim=4,
    generator_reuses_fakes=update != 'fresh_z',
    simultaneous_updates=simultaneous,
  )
  lr, w = PENALTY_LEARNING_RATE, LINEAR_W.astype(np.float64)
  new_w = np.asarray(d_params['w'], np.float64)
  mean_real = linear_reals().reshape(8, 4).astype(np.float64).mean(axis=0)
  mean_z_of_d = np.linalg.solve(LINEAR_A.T.astype(np.float64), (w - new_w) / lr + mean_real)
  moved = np.asarray(g_params['a'], np.float64) - LINEAR_A
  judge_w = w if simultaneous else new_w
  # G's loss through the judging D, at the fakes it was computed on.
  if update == 'fresh_z':
    assert np.max(np.abs(moved - lr * np.outer(mean_z_of_d, new_w))) > 1e-3
  else:
    np.testing.assert_allclose(moved, lr * np.outer(mean_z_of_d, judge_w), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
      metrics['generator_loss'], -(judge_w @ (mean_z_of_d @ LINEAR_A) + LINEAR_B), rtol=1e-4
    )


class NormalisedGenerator(nn.Module):
  """G(z) = BatchNorm(z)^2, reshaped to a 2x2 image: a pass of one point makes zeros."""

  @nn.compact
  def __call__(self, z, labels=None, *, train):
    x = nn.BatchNorm(
      use_running_average=not train, momentum=0.9, epsilon=1e-5, axis_name=parallel.DATA_AXIS
    )(z)
    return jnp.square(x).reshape(z.shape[0], *CONSTANT_IMAGE.shape)


@pytest.mark.parametrize('passes', [1, 2])
def test_generate_in_passes_normalises_each_pass_with_its_own_statistics(passes):
  z = np.asarray(jax.random.normal(jax.random.key(3), (8, 4)), np.float64)
  z[1::2] = 3 * z[1::2] + 2  # The second pass's points are spread and moved.

  class Normalise(nn.Module):
    @nn.compact
    def __call__(self, z, labels=None, *, train):
      return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(z)

  variables = Normalise().init(jax.random.key(0), jnp.zeros((1, 4)), train=False)
  fake, stats = step_lib.generate(
    Normalise(),
    variables['params'],
    variables['batch_stats'],
    jnp.asarray(z, jnp.float32),
    None,
    passes=passes,
  )
  # Pass j holds z[j::passes], normalised with its own mean and (biased)
  # variance, and its fakes go back where its z came from.
  groups = [z[j::passes] for j in range(passes)]
  expected = np.empty_like(z)
  for j, group in enumerate(groups):
    expected[j::passes] = (group - group.mean(0)) / np.sqrt(group.var(0) + 1e-5)
  np.testing.assert_allclose(fake, expected, rtol=1e-4, atol=1e-5)
  # The running statistics take the mean of the passes' updates (from 0 and 1).
  mean = np.mean([g.mean(0) for g in groups], axis=0)
  var = np.mean([g.var(0) for g in groups], axis=0)
  np.testing.assert_allclose(stats['BatchNorm_0']['mean'], 0.1 * mean, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(stats['BatchNorm_0']['var'], 0.9 + 0.1 * var, rtol=1e-4)


@pytest.mark.parametrize('reuses', [False, True], ids=['fresh_z', 'reused_fakes'])
def test_the_step_makes_every_fake_in_as_many_passes_as_asked(reuses):
  # G(z) = BatchNorm(z)^2 in 8 passes of one point makes zeros, so D's
  # update, w' = w - lr (mean fake - mean real), reveals that every fake D
  # saw was 0; and G's running variance takes the passes' variance, 0.
  d_params, _, _ = linear_gan_step(
    generator=NormalisedGenerator(), latent_dim=4, generator_reuses_fakes=reuses
  )
  mean_real = linear_reals().reshape(8, 4).astype(np.float64).mean(axis=0)
  one_pass = np.asarray(d_params['w'], np.float64)
  assert np.max(np.abs(one_pass - (LINEAR_W + PENALTY_LEARNING_RATE * mean_real))) > 0.05
  state, _ = linear_gan_state(
    generator=NormalisedGenerator(), latent_dim=4, generator_reuses_fakes=reuses, generator_passes=8
  )
  np.testing.assert_allclose(
    state.discriminator_params['w'], LINEAR_W + PENALTY_LEARNING_RATE * mean_real, rtol=1e-5
  )
  np.testing.assert_allclose(state.generator_batch_stats['BatchNorm_0']['var'], 0.9, rtol=1e-6)


@pytest.mark.parametrize(
  'field,weight,factor,gradient',
  [
    # lambda * d/dw (||w|| - 1)^2.
    (
      'gradient_penalty_weight',
      10.0,
      1.0,
      2 * (np.linalg.norm(LINEAR_W) - 1) * LINEAR_W / np.linalg.norm(LINEAR_W),
    ),
    # gamma / 2 * d/dw ||w||^2: the update differs by exactly lr * gamma / 2 * 2w.
    ('r1_gamma', 4.0, 0.5, 2 * LINEAR_W),
  ],
  ids=['gradient_penalty', 'r1'],
)
def test_penalty_changes_d_update_by_its_weight_times_its_gradient(field, weight, factor, gradient):
  off, _, _ = linear_gan_step(**{field: 0.0})
  on, _, _ = linear_gan_step(**{field: weight})
  # The adversarial part of the update is the same in both runs (same G,
  # data and keys), so the difference is the penalty's alone.
  np.testing.assert_allclose(
    on['w'] - off['w'], -PENALTY_LEARNING_RATE * weight * factor * gradient, rtol=1e-4, atol=1e-7
  )
  np.testing.assert_array_equal(on['b'], off['b'])


class TanhDiscriminator(nn.Module):
  """D(x) = v . tanh(U x) + c: its input gradient depends on where it is taken."""

  @nn.compact
  def __call__(self, x, labels=None, *, train):
    hidden = jnp.tanh(nn.Dense(5, name='hidden')(x.reshape(x.shape[0], -1)))
    return nn.Dense(1, name='output')(hidden)[:, 0]


def test_gradient_penalty_of_a_nonlinear_d_is_the_formula_at_the_steps_interpolates():
  # The penalty's gradient now depends on eps, which the step draws per
  # example from its key stream (`parallel.example_uniforms` of the step key
  # folded with critic_steps + 1 + the critic step: 2 for the one critic
  # step of step 0). Written out here independently: one eps per example,
  # x_hat between the example and its fake, ||grad_x D(x_hat)|| per example.
  weight, batch_size = 10.0, 8

  def make_gan(gradient_penalty_weight):
    return model_lib.GAN(
      generator=ConstantGenerator(),
      discriminator=TanhDiscriminator(),
      generator_optimizer=PENALTY_SGD,
      discriminator_optimizer=PENALTY_SGD,
      latent_dim=3,
      loss=losses.ADVERSARIAL_LOSSES['wasserstein'],
      gradient_penalty_weight=gradient_penalty_weight,
    )

  mesh = parallel.make_data_mesh()
  batch = shard(mesh, {step_lib.REAL: {'image': linear_reals()}})
  results = []
  for lam in (0.0, weight):
    gan = make_gan(lam)
    state, train_step = setup_gan(gan, mesh)
    initial = jax.device_get(state)
    state, metrics = train_step(state, batch)
    results.append((jax.device_get(state.discriminator_params), jax.device_get(metrics)))
  (off, _), (on, metrics) = results

  step_key = jax.random.fold_in(initial.key, 0)
  eps = parallel.example_uniforms(
    jax.random.fold_in(step_key, 2), first_example=0, batch_size=batch_size
  )
  reals = linear_reals().reshape(batch_size, 4)
  fakes = np.broadcast_to(CONSTANT_IMAGE.ravel(), (batch_size, 4))
  interpolates = eps[:, None] * reals + (1 - eps[:, None]) * fakes

  def penalty(params):
    def d_one(x):
      hidden = jnp.tanh(x @ params['hidden']['kernel'] + params['hidden']['bias'])
      return (hidden @ params['output']['kernel'] + params['output']['bias'])[0]

    norms = jnp.linalg.norm(jax.vmap(jax.grad(d_one))(interpolates), axis=1)
    return jnp.mean((norms - 1) ** 2)

  value, gradient = jax.value_and_grad(penalty)(initial.discriminator_params)
  np.testing.assert_allclose(metrics['gradient_penalty'], value, rtol=1e-5)
  expected = jax.tree.map(lambda g: -PENALTY_LEARNING_RATE * weight * g, gradient)
  difference = jax.tree.map(lambda a, b: a - b, on, off)
  chex.assert_trees_all_close(difference, expected, rtol=1e-4, atol=1e-6)


def test_gradient_penalty_works_with_the_layer_norm_dcgan_critic():
  gan = small_gan(
    'dcgan',
    optax.adam(1e-4, b1=0.0, b2=0.9),
    normalization='layer_norm',
    loss=losses.ADVERSARIAL_LOSSES['wasserstein'],
    gradient_penalty_weight=10.0,
    critic_steps=2,
  )
  state, metrics = run_steps(gan, 2, critic_steps=2)
  chex.assert_tree_all_finite((state.discriminator_params, metrics))
  assert metrics['gradient_penalty'] > 0
  assert state.discriminator_batch_stats == {}


def test_ema_is_the_moving_average_of_g_and_samples_come_from_it():
  gan = small_gan('gan', optax.sgd(0.5), ema_decay=0.9)
  mesh = parallel.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  initial = jax.device_get(state.generator_params)
  chex.assert_trees_all_close(jax.device_get(state.generator_ema_params), initial)
  state, _ = train_step(state, image_batch(mesh, 0))
  trained = jax.device_get(state.generator_params)
  expected = jax.tree.map(lambda old, new: 0.9 * old + 0.1 * new, initial, trained)
  chex.assert_trees_all_close(jax.device_get(state.generator_ema_params), expected, rtol=1e-6)
  z = jax.random.normal(jax.random.key(9), (4, 10))

  def generate(params):
    variables = {'params': params, 'batch_stats': state.generator_batch_stats}
    return gan.generator.apply(variables, z, train=False)

  samples = jax.jit(gan.sample)(state, {'z': z})
  chex.assert_trees_all_close(samples, generate(state.generator_ema_params), atol=1e-6)
  # Not G as trained: the two differ after a step.
  assert float(jnp.max(jnp.abs(samples - generate(state.generator_params)))) > 1e-4


@pytest.mark.parametrize('mode', ['replace', 'add'])
def test_feature_matching_is_gs_loss_or_added_to_it(mode):
  _, metrics = run_steps(small_gan('gan', ADAM, feature_matching=mode), 1)
  assert metrics['feature_matching'] > 0
  expected = metrics['feature_matching']
  if mode == 'add':
    expected += metrics['adversarial_generator_loss']
  assert metrics['generator_loss'] == pytest.approx(expected, rel=1e-5)


def test_each_network_takes_its_own_learning_rate():
  # Two time-scales in the limit: G's learning rate 0 leaves G as it was.
  gan = small_gan('gan', SGD, generator_optimizer=optax.sgd(0.0))
  mesh = parallel.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  before = jax.device_get((state.generator_params, state.discriminator_params))
  state, _ = train_step(state, image_batch(mesh, 0))
  chex.assert_trees_all_equal(jax.device_get(state.generator_params), before[0])
  moved = jax.tree.map(
    lambda a, b: bool(np.any(a != b)), jax.device_get(state.discriminator_params), before[1]
  )
  assert all(jax.tree.leaves(moved))


# The other two pairings train elsewhere: the MLP with 'concat' in
# test_loop.py (configs/cgan.py), the DCGAN with 'projection' in
# test_step_checksums.py.
@pytest.mark.parametrize('model,conditioning', [('dcgan', 'concat'), ('gan', 'projection')])
def test_conditional_gans_train_with_finite_losses(model, conditioning):
  gan = small_gan(model, ADAM, num_classes=3, conditioning=conditioning)
  state, metrics = run_steps(gan, 2, num_classes=3)
  chex.assert_tree_all_finite((state.generator_params, state.discriminator_params, metrics))
  z = jax.random.normal(jax.random.key(0), (3, 10))
  images = jax.jit(gan.sample)(state, {'z': z, 'labels': jnp.arange(3)})
  chex.assert_shape(images, (3, 8, 8, 1))
  chex.assert_tree_all_finite(images)


def test_spectral_norm_state_is_carried_by_the_step():
  gan = small_gan('gan', ADAM, spectral_norm=True)
  mesh = parallel.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  before = jax.device_get(state.discriminator_batch_stats)
  assert before, 'SpectralNorm keeps its power-iteration vectors in batch_stats'
  state, metrics = train_step(state, image_batch(mesh, 0))
  after = jax.device_get(state.discriminator_batch_stats)
  changed = jax.tree.map(lambda a, b: bool(np.any(a != b)), before, after)
  assert any(jax.tree.leaves(changed))
  chex.assert_tree_all_finite((after, metrics))


# The cases the 8-device test runs: the two plain GANs, and one that takes
# every path the step adds (labels, several critic steps, per-example
# penalty weights, feature matching, the moving average), each with the
# learning rate of its plain SGD: Adam's normalised update would hide a
# gradient that is off by a constant factor.
MULTI_DEVICE_CASES = {
  'gan': ('gan', 0.5, {}),
  'dcgan': ('dcgan', 0.5, {}),
  'conditional_dcgan_reusing_fakes': (
    'dcgan',
    0.5,
    dict(num_classes=3, conditioning='concat', generator_reuses_fakes=True),
  ),
  'conditional_wgan_gp': (
    'gan',
    0.01,
    dict(
      num_classes=3,
      critic_steps=2,
      loss=losses.ADVERSARIAL_LOSSES['wasserstein'],
      gradient_penalty_weight=10.0,
      feature_matching='add',
      ema_decay=0.5,
    ),
  ),
}


def multi_device_case(name, mesh):
  """(state, call, batches) of a case of MULTI_DEVICE_CASES: two steps in one call.

  The loop's call runs them as a `lax.scan` on the devices (config.steps_per_call
  = 2), so the case checks that path too.
  """
  model, learning_rate, options = MULTI_DEVICE_CASES[name]
  gan = small_gan(model, optax.sgd(learning_rate), **options)
  state = jax.device_put(gan.init(jax.random.key(0)), NamedSharding(mesh, P()))
  call = steps.make_train_call(gan, mesh, gan.state_partition(state))
  critic_steps, num_classes = options.get('critic_steps', 1), options.get('num_classes', 0)
  batches = [image_batch(mesh, i, 16, critic_steps, num_classes) for i in range(2)]
  return state, call, shard(mesh, jax.tree.map(lambda *b: jnp.concatenate(b), *batches))


# Run in a subprocess: the number of CPU devices is fixed when JAX starts.
_MULTI_DEVICE_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np, optax
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from jaxgan import parallel
    from jax.sharding import NamedSharding, PartitionSpec as P
    from jaxgan.train import steps
    from test_classic_step import (DRIFT_STEPS, MULTI_DEVICE_CASES, image_batch,
                                   multi_device_case, small_gan)
    assert jax.device_count() == 8, jax.devices()
    results = {{}}
    for model in MULTI_DEVICE_CASES:
      outputs = []
      for devices in (jax.devices()[:1], jax.devices()):
        mesh = parallel.make_data_mesh(devices)
        state, call, batches = multi_device_case(model, mesh)
        state, metrics = call(state, batches)
        metrics = jax.tree.map(lambda m: m[-1], metrics)
        outputs.append(jax.device_get((state.generator_params, state.discriminator_params,
                                       state.generator_ema_params,
                                       state.generator_batch_stats,
                                       state.discriminator_batch_stats, metrics)))
      one, eight = outputs
      differences = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), one, eight)
      scales = jax.tree.map(lambda a: float(np.max(np.abs(a))), one)
      results[model] = {{'difference': max(jax.tree.leaves(differences)),
                         'smallest_scale': min(jax.tree.leaves(scales)),
                         'metrics_one': {{k: float(v) for k, v in one[-1].items()}},
                         'metrics_eight': {{k: float(v) for k, v in eight[-1].items()}}}}
    # Many steps of Adam in one call: G's parameters on 1 and on 8 devices.
    trails = []
    for devices in (jax.devices()[:1], jax.devices()):
      mesh = parallel.make_data_mesh(devices)
      gan = small_gan('gan', optax.adam(1e-3))
      state = jax.device_put(gan.init(jax.random.key(0)), NamedSharding(mesh, P()))
      call = steps.make_train_call(gan, mesh, gan.state_partition(state))
      batches = [image_batch(mesh, i) for i in range(DRIFT_STEPS)]
      state, _ = call(state, jax.tree.map(lambda *b: jax.numpy.concatenate(b), *batches))
      leaves = jax.tree.leaves(jax.device_get(state.generator_params))
      trails.append(np.concatenate([np.ravel(x) for x in leaves]))
    results['drift'] = float(np.max(np.abs(trails[0] - trails[1])))
    print(json.dumps(results))
""")
# Steps after which 1 and 8 devices are compared for drift (3e-3 after 30,
# measured 2026-12-02; 1e-2 after 100).
DRIFT_STEPS = 30


def test_eight_devices_give_the_one_device_result():
  # A few steps: compiling is most of the time, so the subprocess keeps the
  # suite's faster compiling settings (tests/conftest.py); the numbers are
  # those of the same computation.
  env = dict(
    os.environ,
    XLA_FLAGS=f'{os.environ.get("XLA_FLAGS", "")} --xla_force_host_platform_device_count=8',
    JAX_PLATFORMS='cpu',
  )
  script = _MULTI_DEVICE_SCRIPT.format(root=ROOT, tests=os.path.join(ROOT, 'tests'))
  completed = subprocess.run(
    [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=600
  )
  assert completed.returncode == 0, completed.stderr[-3000:]
  results = json.loads(completed.stdout.strip().splitlines()[-1])
  drift = results.pop('drift')
  assert sorted(results) == sorted(MULTI_DEVICE_CASES)
  for model, result in results.items():
    assert result['difference'] < 1e-4, (model, result)
    for name, value in result['metrics_one'].items():
      np.testing.assert_allclose(
        result['metrics_eight'][name], value, rtol=1e-4, err_msg=f'{model} {name}'
      )
  # What the README says: the two agree to float tolerance over the first
  # steps (above), and drift apart visibly over tens (sums in another
  # order round otherwise, and Adam scales tiny gradient differences up):
  # the same computation, not the same bits.
  print(f'1 vs 8 devices, largest difference in G after {DRIFT_STEPS} steps: {drift:.2e}')
  assert drift > 1e-3
  readme = open(os.path.join(ROOT, 'README.md')).read()
  assert 'drift apart' in readme and 'follows the same\npath as on 1' not in readme
