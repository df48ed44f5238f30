"""Tests of the data-parallel train step."""

import json
import os
import subprocess
import sys
import textwrap

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.families.classic import dcgan
from jaxgan.losses import adversarial as losses
from jaxgan.families.classic import mlp
from jaxgan.families.classic import state as state_lib
from jaxgan.families.classic import step as step_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_models(model: str):
  """Tiny versions of the two families, with cross-device BatchNorm."""
  if model == 'gan':
    return (
      mlp.MLPGenerator(
        image_shape=(8, 8, 1), hidden_features=(16, 32), batch_norm_axis_name=step_lib.DATA_AXIS
      ),
      mlp.MLPDiscriminator(hidden_features=(32, 16)),
    )
  return (
    dcgan.DCGANGenerator(
      channels=1,
      stem_size=4,
      features=(16, 8),
      upsample_to_image=False,
      batch_norm_axis_name=step_lib.DATA_AXIS,
    ),
    dcgan.DCGANDiscriminator(features=(8, 16), batch_norm_axis_name=step_lib.DATA_AXIS),
  )


def small_gan(model, optimizer, *, generator_optimizer=None, **options):
  """A `step.GAN` of the tiny networks; `options` are `GAN` fields or D fields."""
  num_classes = options.get('num_classes', 0)
  module_fields = {
    name: options.pop(name)
    for name in ('spectral_norm', 'normalization', 'minibatch_discrimination', 'conditioning')
    if name in options
  }
  generator, discriminator = small_models(model)
  return step_lib.GAN(
    generator=generator.clone(num_classes=num_classes),
    discriminator=discriminator.clone(num_classes=num_classes, **module_fields),
    generator_optimizer=generator_optimizer or optimizer,
    discriminator_optimizer=optimizer,
    latent_dim=10,
    **options,
  )


def setup_gan(gan, mesh):
  state = state_lib.create_state(
    jax.random.key(0),
    generator=gan.generator,
    discriminator=gan.discriminator,
    generator_optimizer=gan.generator_optimizer,
    discriminator_optimizer=gan.discriminator_optimizer,
    latent_dim=gan.latent_dim,
    num_classes=gan.num_classes,
    packing=gan.packing,
    ema=gan.ema_decay > 0,
  )
  state = jax.device_put(state, NamedSharding(mesh, P()))
  return state, step_lib.make_train_step(gan, mesh)


def setup(model, mesh, optimizer, generator_loss=losses.non_saturating_generator_loss, **options):
  loss = losses.AdversarialLoss(losses.discriminator_loss, generator_loss, True)
  return setup_gan(small_gan(model, optimizer, loss=loss, **options), mesh)


def image_batch(mesh, seed, size=16, critic_steps=1, num_classes=0):
  """(critic_steps, size, 8, 8, 1) images in [-1, 1], and labels if asked."""
  key = jax.random.key(seed)
  images = jax.random.uniform(key, (critic_steps, size, 8, 8, 1), minval=-1, maxval=1)
  sharding = NamedSharding(mesh, P(None, step_lib.DATA_AXIS))
  batch = {'image': jax.device_put(images, sharding)}
  if num_classes:
    labels = jax.random.randint(jax.random.fold_in(key, 1), images.shape[:2], 0, num_classes)
    batch['label'] = jax.device_put(labels, sharding)
  return batch


@pytest.mark.parametrize('model', ['gan', 'dcgan'])
def test_steps_are_finite_and_compile_once(model):
  mesh = step_lib.make_data_mesh()
  # The loss is traced once per compilation of the step: a second trace
  # would mean the step recompiled.
  chex.clear_trace_counter()  # Counts are kept per function across tests.
  traced_loss = chex.assert_max_traces(losses.non_saturating_generator_loss, n=1)
  state, train_step = setup(model, mesh, optax.adam(1e-3, b1=0.5), traced_loss)
  before = jax.device_get(state.generator_params)
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
  moved = jax.tree.map(
    lambda a, b: np.any(np.asarray(a) != np.asarray(b)),
    before,
    jax.device_get(state.generator_params),
  )
  assert all(jax.tree.leaves(moved))


def test_state_is_donated():
  mesh = step_lib.make_data_mesh()
  state, train_step = setup('gan', mesh, optax.sgd(0.1))
  old = state
  state, _ = train_step(state, image_batch(mesh, 0))
  assert jax.tree.leaves(old.generator_params)[0].is_deleted()


def test_noise_does_not_depend_on_how_the_batch_is_split():
  key = jax.random.key(3)
  whole = step_lib.latent_noise(key, first_example=0, batch_size=8, latent_dim=5)
  halves = [step_lib.latent_noise(key, first_example=i, batch_size=4, latent_dim=5) for i in (0, 4)]
  np.testing.assert_array_equal(whole, np.concatenate(halves))
  assert abs(float(jnp.std(whole)) - 1) < 0.5


def test_labels_do_not_depend_on_how_the_batch_is_split():
  key = jax.random.key(4)
  whole = step_lib.example_labels(key, first_example=0, batch_size=3000, num_classes=10)
  halves = [
    step_lib.example_labels(key, first_example=i, batch_size=1500, num_classes=10)
    for i in (0, 1500)
  ]
  np.testing.assert_array_equal(whole, np.concatenate(halves))
  counts = np.bincount(np.asarray(whole), minlength=10)
  assert counts.min() > 240 and counts.max() < 360, counts  # 300 each, give or take.


def run_steps(gan, num_steps=2, *, critic_steps=1, num_classes=0, batches=None):
  mesh = step_lib.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  for i in range(num_steps):
    batch = batches[i] if batches else image_batch(mesh, i, 16, critic_steps, num_classes)
    state, metrics = train_step(state, batch)
  return jax.device_get(state), {k: float(v) for k, v in jax.device_get(metrics).items()}


@pytest.mark.parametrize('loss_name', sorted(losses.ADVERSARIAL_LOSSES))
def test_every_loss_trains_with_finite_losses(loss_name):
  loss = losses.ADVERSARIAL_LOSSES[loss_name]
  options = dict(weight_clip=0.1) if loss_name == 'wasserstein' else {}
  state, metrics = run_steps(small_gan('gan', optax.adam(1e-3), loss=loss, **options), 3)
  chex.assert_tree_all_finite((state.generator_params, state.discriminator_params, metrics))
  # The sigmoid-read probabilities only where D's output is a logit.
  assert ('d_real' in metrics) == loss.outputs_are_logits


def adam_count(opt_state):
  return int(optax.tree_utils.tree_get(opt_state, 'count'))


def test_critic_steps_update_d_once_per_real_batch():
  gan = small_gan('gan', optax.adam(1e-3), critic_steps=3)
  mesh = step_lib.make_data_mesh()
  batch = image_batch(mesh, 0, 16, critic_steps=3)
  state, _ = run_steps(gan, 1, batches=[batch])
  assert adam_count(state.discriminator_opt_state) == 3
  assert adam_count(state.generator_opt_state) == 1
  # Each of the three real batches enters D's training: changing any one
  # of them changes D.
  for j in range(3):
    images = np.array(batch['image'])
    images[j] = -images[j]
    changed = {'image': jax.device_put(images, batch['image'].sharding)}
    other, _ = run_steps(gan, 1, batches=[changed])
    difference = jax.tree.map(
      lambda a, b: float(np.max(np.abs(a - b))),
      state.discriminator_params,
      other.discriminator_params,
    )
    assert max(jax.tree.leaves(difference)) > 0, j


def test_weight_clipping_bounds_every_parameter_of_d():
  # Large SGD steps push many parameters past the bound.
  state, _ = run_steps(small_gan('gan', optax.sgd(10.0), weight_clip=0.01), 1)
  largest = max(float(np.max(np.abs(p))) for p in jax.tree.leaves(state.discriminator_params))
  assert largest == pytest.approx(0.01)


@pytest.mark.parametrize('penalty', ['gradient_penalty_weight', 'r1_gamma'])
def test_penalties_enter_the_discriminator_update(penalty):
  plain, _ = run_steps(small_gan('gan', optax.sgd(0.1)), 1)
  penalised, metrics = run_steps(small_gan('gan', optax.sgd(0.1), **{penalty: 10.0}), 1)
  name = 'gradient_penalty' if penalty == 'gradient_penalty_weight' else 'r1_penalty'
  assert np.isfinite(metrics[name]) and metrics[name] > 0
  # Same G, same data: D differs by the penalty's gradient alone.
  difference = jax.tree.map(
    lambda a, b: float(np.max(np.abs(a - b))),
    plain.discriminator_params,
    penalised.discriminator_params,
  )
  assert max(jax.tree.leaves(difference)) > 1e-6


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
  assert state.discriminator_batch_stats == {}


def test_ema_is_the_moving_average_of_g_and_samples_come_from_it():
  gan = small_gan('gan', optax.sgd(0.5), ema_decay=0.9)
  mesh = step_lib.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  initial = jax.device_get(state.generator_params)
  chex.assert_trees_all_close(jax.device_get(state.generator_ema_params), initial)
  state, _ = train_step(state, image_batch(mesh, 0))
  trained = jax.device_get(state.generator_params)
  expected = jax.tree.map(lambda old, new: 0.9 * old + 0.1 * new, initial, trained)
  chex.assert_trees_all_close(jax.device_get(state.generator_ema_params), expected, rtol=1e-6)
  z = jax.random.normal(jax.random.key(9), (4, 10))
  sample = step_lib.make_sample_fn(gan.generator)
  from_ema = gan.generator.apply(
    {'params': state.generator_ema_params, 'batch_stats': state.generator_batch_stats},
    z,
    train=False,
  )
  chex.assert_trees_all_close(sample(state, z), from_ema, atol=1e-6)


@pytest.mark.parametrize('mode', ['replace', 'add'])
def test_feature_matching_is_gs_loss_or_added_to_it(mode):
  _, metrics = run_steps(small_gan('gan', optax.adam(1e-3), feature_matching=mode), 1)
  assert metrics['feature_matching'] > 0
  expected = metrics['feature_matching']
  if mode == 'add':
    expected += metrics['adversarial_generator_loss']
  assert metrics['generator_loss'] == pytest.approx(expected, rel=1e-5)


def test_each_network_takes_its_own_learning_rate():
  # Two time-scales in the limit: G's learning rate 0 leaves G as it was.
  gan = small_gan('gan', optax.sgd(0.1), generator_optimizer=optax.sgd(0.0))
  mesh = step_lib.make_data_mesh()
  state, train_step = setup_gan(gan, mesh)
  before = jax.device_get((state.generator_params, state.discriminator_params))
  state, _ = train_step(state, image_batch(mesh, 0))
  chex.assert_trees_all_equal(jax.device_get(state.generator_params), before[0])
  moved = jax.tree.map(
    lambda a, b: bool(np.any(a != b)), jax.device_get(state.discriminator_params), before[1]
  )
  assert all(jax.tree.leaves(moved))


@pytest.mark.parametrize('model', ['gan', 'dcgan'])
@pytest.mark.parametrize('conditioning', ['concat', 'projection'])
def test_conditional_gans_train_with_finite_losses(model, conditioning):
  gan = small_gan(model, optax.adam(1e-3), num_classes=3, conditioning=conditioning)
  state, metrics = run_steps(gan, 2, num_classes=3)
  chex.assert_tree_all_finite((state.generator_params, state.discriminator_params, metrics))
  z = jax.random.normal(jax.random.key(0), (3, 10))
  images = step_lib.make_sample_fn(gan.generator)(state, z, jnp.arange(3))
  chex.assert_shape(images, (3, 8, 8, 1))


def test_spectral_norm_state_is_carried_by_the_step():
  gan = small_gan('gan', optax.adam(1e-3), spectral_norm=True)
  mesh = step_lib.make_data_mesh()
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
  """(state, train_step, batches) of a case of MULTI_DEVICE_CASES."""
  model, learning_rate, options = MULTI_DEVICE_CASES[name]
  state, train_step = setup_gan(small_gan(model, optax.sgd(learning_rate), **options), mesh)
  critic_steps, num_classes = options.get('critic_steps', 1), options.get('num_classes', 0)
  batches = [image_batch(mesh, i, 16, critic_steps, num_classes) for i in range(2)]
  return state, train_step, batches


# Run in a subprocess: the number of CPU devices is fixed when JAX starts.
_MULTI_DEVICE_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np, optax
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from jaxgan.families.classic import step as step_lib
    from test_step import MULTI_DEVICE_CASES, multi_device_case
    assert jax.device_count() == 8, jax.devices()
    results = {{}}
    for model in MULTI_DEVICE_CASES:
      outputs = []
      for devices in (jax.devices()[:1], jax.devices()):
        mesh = step_lib.make_data_mesh(devices)
        state, train_step, batches = multi_device_case(model, mesh)
        for batch in batches:
          state, metrics = train_step(state, batch)
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
    print(json.dumps(results))
""")


def test_eight_devices_give_the_one_device_result():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=8', JAX_PLATFORMS='cpu')
  script = _MULTI_DEVICE_SCRIPT.format(root=ROOT, tests=os.path.join(ROOT, 'tests'))
  completed = subprocess.run(
    [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=600
  )
  assert completed.returncode == 0, completed.stderr[-3000:]
  results = json.loads(completed.stdout.strip().splitlines()[-1])
  for model, result in results.items():
    assert result['difference'] < 1e-4, (model, result)
    for name, value in result['metrics_one'].items():
      np.testing.assert_allclose(
        result['metrics_eight'][name], value, rtol=1e-4, err_msg=f'{model} {name}'
      )
