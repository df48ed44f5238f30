"""Tests of the StyleGAN model: lazy R1, w_avg, path lengths, the EMA, mixing, truncation."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding

from configs import default
from configs import stylegan2
from jaxgan import data
from jaxgan import parallel
from jaxgan.families import stylegan
from jaxgan.families.stylegan import model as model_lib
from jaxgan.families.stylegan import networks
from jaxgan.losses import penalties
from jaxgan.train import steps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDE = 8
Z_DIM = W_DIM = 8


def tiny_stylegan(style='modulated', mbstd_group_size=2, **options):
  """A StyleGAN of the smallest networks at 8x8x1 (fast to compile)."""
  options.setdefault('generator_optimizer', optax.adam(2e-3, b1=0.0, b2=0.99))
  options.setdefault('discriminator_optimizer', optax.adam(2e-3, b1=0.0, b2=0.99))
  return model_lib.StyleGAN(
    mapping=networks.MappingNetwork(
      z_dim=Z_DIM, w_dim=W_DIM, num_layers=2, gain_after_activation=style == 'modulated'
    ),
    synthesis=networks.SynthesisNetwork(SIDE, channels=1, style=style, fmap_base=64, fmap_max=8),
    discriminator=networks.Discriminator(
      SIDE,
      channels=1,
      architecture='resnet' if style == 'modulated' else 'orig',
      fmap_base=64,
      fmap_max=8,
      mbstd_group_size=mbstd_group_size,
    ),
    image_shape=(SIDE, SIDE, 1),
    **options,
  )


def image_batch(batch, seed=0):
  rng = np.random.default_rng(seed)
  return {model_lib.REAL: {'image': rng.integers(0, 256, (1, 1, batch, SIDE, SIDE, 1), np.uint8)}}


def host(state):
  return jax.device_get(state.replace(key=jax.random.key_data(state.key)))


def init_state(gan):
  mesh = parallel.make_data_mesh(jax.devices()[:1])
  abstract = jax.eval_shape(gan.init, jax.random.key(0))
  partition = gan.state_partition(abstract)
  shardings = jax.tree.map(lambda p: NamedSharding(mesh, p), partition)
  return mesh, partition, jax.jit(gan.init, out_shardings=shardings)(jax.random.key(0))


def tiny_config(data_dir='', **overrides):
  """configs/stylegan2.py with the smallest networks, on MNIST resized to 8x8.

  R1 and the path length penalty every 2 steps, at a global batch of 16;
  no minibatch stddev, whose groups are each device's own examples (as
  NVlabs' per-GPU batches), so that 8 devices give the 1-device result.
  The stepped model below is this config's, and tests/test_stylegan.py
  trains it through the loop: the session's compilation cache compiles
  its step once.
  """
  config = stylegan2.get_config()
  config.data = default.data_config(data_dir=data_dir, resize=SIDE)
  config.update(
    resolution=SIDE,
    z_dim=Z_DIM,
    w_dim=W_DIM,
    mapping_layers=2,
    fmap_base=64,
    fmap_max=8,
    mbstd_group_size=0,
    r1_gamma=4.0,
    r1_interval=2,
    path_length_interval=2,
    mixing_probability=0.5,
    ema_kimg=0.01,
    ema_rampup=0.0,
    batch_size=16,
    num_steps=4,
    log_every=2,
    sample_every=2,
    checkpoint_every=2,
    num_samples=4,
    eval_every=0,
  )
  config.update(overrides)
  return config


STEPS = 3


def stepped_stylegan():
  """The model of `tiny_config` (Adam with NVlabs' lazy scaling)."""
  info = data.DatasetInfo('bundled_mnist', (SIDE, SIDE, 1), None, 60_000, 'image')
  return stylegan.build(tiny_config(), {model_lib.REAL: info})


@pytest.fixture(scope='module')
def stepped():
  """Steps 0, 1, 2 of `stepped_stylegan` on one device: its states and metrics."""
  gan = stepped_stylegan()
  mesh, partition, state = init_state(gan)
  call = steps.make_train_call(gan, mesh, partition)
  states, metrics = [host(state)], []
  for step in range(STEPS):
    state, step_metrics = call(state, steps.global_batches(mesh, image_batch(16, step), 1))
    states.append(host(state))
    metrics.append(jax.tree.map(lambda m: float(m[-1]), jax.device_get(step_metrics)))
  return gan, states, metrics


def step_zero_keys(state, phase):
  """The per-example keys that step 0 draws a phase's 16 examples from, as the step folds them."""
  step_key = jax.random.fold_in(jax.random.wrap_key_data(state.key), 0)
  return parallel.example_keys(jax.random.fold_in(step_key, phase), first_example=0, batch_size=16)


def test_lazy_r1_fires_every_interval_with_the_interval_scaled_weight(stepped):
  gan, states, metrics = stepped
  assert [m['r1_term'] > 0 for m in metrics] == [True, False, True]
  for m in metrics[::2]:
    # gamma / 2 * interval.
    np.testing.assert_allclose(m['r1_term'], 4.0 / 2 * 2 * m['r1_penalty'], rtol=1e-6)
  # Step 1 reports (and the state keeps) step 0's value.
  assert metrics[1]['r1_penalty'] == metrics[0]['r1_penalty'] == states[1].latest['r1_penalty']
  # What the penalty is, and from which D: test_lazy_r1_updates_from_the_main_updates_result.


def test_lazy_regularisers_take_an_adam_update_of_their_own(stepped):
  # R1 and the path length every 2 steps: steps 0 and 2 take two updates of
  # each network (main, then regulariser), step 1 one, as NVlabs' phases.
  _, states, _ = stepped
  counts = lambda opt_state: int(optax.tree_utils.tree_get(opt_state, 'count'))
  for network in ('discriminator_opt_state', 'generator_opt_state'):
    assert [counts(getattr(s, network)) for s in states] == [0, 2, 3, 5], network


def test_lazy_r1_updates_from_the_main_updates_result(stepped):
  # Step 0 is R1's: D's optimizer takes the main loss's gradient at p, then
  # R1's (times gamma / 2 * interval) at the result p1, with one optimizer
  # state (NVlabs' 'Dmain' then 'Dreg'); not one update on their sum at p.
  gan, states, metrics = stepped
  before = states[0]
  reals = steps.to_float_images(image_batch(16, 0)[model_lib.REAL]['image'])[0, 0]
  keys = step_zero_keys(before, model_lib._DISCRIMINATOR_PHASE)
  optimizer, weight = gan.discriminator_optimizer, 4.0 / 2 * 2

  @jax.jit
  def hand_computed(generator_params, params, opt_state):
    fakes, _, _ = gan._generate(generator_params, keys)

    def loss(p):
      return jnp.mean(jax.nn.softplus(gan.judge(p, fakes))) + jnp.mean(
        jax.nn.softplus(-gan.judge(p, reals))
      )

    def r1_term(p):
      return weight * penalties.r1_penalty(lambda x: gan.judge(p, x), reals)

    def update(p, grads, state):
      updates, state = optimizer.update(grads, state, p)
      return optax.apply_updates(p, updates), state

    main, main_state = update(params, jax.grad(loss)(params), opt_state)
    term, grads = jax.value_and_grad(r1_term)(main)
    two_updates, _ = update(main, grads, main_state)
    one_update, _ = update(params, jax.grad(lambda p: loss(p) + r1_term(p))(params), opt_state)
    return two_updates, one_update, term

  expected, summed, term = hand_computed(
    before.generator_params, before.discriminator_params, before.discriminator_opt_state
  )
  np.testing.assert_allclose(metrics[0]['r1_term'], term, rtol=1e-5)
  jax.tree.map(
    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
    states[1].discriminator_params,
    expected,
  )
  gap = max(
    float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(summed))
  )
  assert gap > 1e-4, 'the test cannot tell the two forms apart'


def test_a_bfloat16_step_keeps_its_state_float32_and_its_losses_near_float32s(stepped):
  # The same config and first batch with the layers in bfloat16: every float
  # of the state stays float32 (parameters, Adam's moments, the w average,
  # the path length mean, G's moving average), and step 0's losses, taken
  # at the same initial parameters, are within bfloat16's rounding of the
  # float32 step's.
  _, _, float32_metrics = stepped
  info = data.DatasetInfo('bundled_mnist', (SIDE, SIDE, 1), None, 60_000, 'image')
  gan = stylegan.build(tiny_config(dtype='bfloat16'), {model_lib.REAL: info})
  mesh, partition, state = init_state(gan)
  call = steps.make_train_call(gan, mesh, partition)
  state, step_metrics = call(state, steps.global_batches(mesh, image_batch(16, 0), 1))
  floats = [x for x in jax.tree.leaves(host(state)) if np.issubdtype(x.dtype, np.floating)]
  assert {x.dtype for x in floats} == {np.dtype(np.float32)}
  metrics = jax.tree.map(lambda m: m[-1], jax.device_get(step_metrics))
  for name in ('discriminator_loss', 'generator_loss'):
    assert metrics[name].dtype == np.float32
    np.testing.assert_allclose(metrics[name], float32_metrics[0][name], rtol=0.02, err_msg=name)
    assert metrics[name] != float32_metrics[0][name], name  # Computed in bfloat16 indeed.


def test_the_path_length_mean_moves_by_its_decay_on_regularised_steps_only(stepped):
  _, states, metrics = stepped
  assert [m['path_length_term'] > 0 for m in metrics] == [True, False, True]
  assert metrics[1]['path_length'] == metrics[0]['path_length']
  # From 0: pl_mean = lerp(0, mean length, 0.01).
  np.testing.assert_allclose(
    states[1].path_length_mean, 0.01 * metrics[0]['path_length'], rtol=1e-5
  )
  assert states[2].path_length_mean == states[1].path_length_mean
  expected = states[2].path_length_mean + 0.01 * (
    metrics[2]['path_length'] - states[2].path_length_mean
  )
  np.testing.assert_allclose(states[3].path_length_mean, expected, rtol=1e-5)
  assert metrics[2]['path_length_mean'] == pytest.approx(float(states[3].path_length_mean))


def test_w_avg_moves_toward_the_batch_mean_of_w(stepped):
  gan, states, _ = stepped
  before = states[0]
  # The G phase's per-example keys, as the step draws them.
  keys = step_zero_keys(before, model_lib._GENERATOR_PHASE)
  _, w = jax.jit(gan._draw_ws)(before.generator_params, keys)
  expected = before.w_avg + (1 - 0.995) * (np.mean(w, axis=0) - before.w_avg)
  np.testing.assert_allclose(states[1].w_avg, expected, rtol=1e-5, atol=1e-7)


def test_the_ema_follows_nvlabs_half_life_in_images(stepped):
  # beta = 0.5 ** (batch / (ema_kimg * 1000)), and with a ramp-up the
  # half-life is at most rampup * the images seen.
  np.testing.assert_allclose(model_lib.ema_beta(7, 32, 10.0), 0.5 ** (32 / 10_000), rtol=1e-6)
  assert float(model_lib.ema_beta(0, 32, 10.0, 0.05)) == 0.0
  np.testing.assert_allclose(
    model_lib.ema_beta(100, 32, 10.0, 0.05), 0.5 ** (32 / (3200 * 0.05)), rtol=1e-6
  )
  np.testing.assert_allclose(
    model_lib.ema_beta(100_000, 32, 10.0, 0.05), 0.5 ** (32 / 10_000), rtol=1e-6
  )
  _, states, metrics = stepped
  beta = 0.5 ** (16 / 10)
  assert metrics[1]['ema_beta'] == pytest.approx(beta)
  expected = jax.tree.map(
    lambda p, e: p + beta * (e - p), states[2].generator_params, states[1].generator_ema
  )
  jax.tree.map(
    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
    states[2].generator_ema,
    expected,
  )


def test_path_lengths_of_a_linear_synthesis():
  # images = sum_l ws[:, l] @ A[l]: the gradient of sum(images * y) with
  # respect to ws[:, l] is A[l] y, whatever ws is.
  rng = np.random.default_rng(0)
  a = rng.normal(size=(3, 5, 6)).astype(np.float32)
  ws = rng.normal(size=(2, 3, 5)).astype(np.float32)
  y = rng.normal(size=(2, 6)).astype(np.float32)
  lengths = model_lib.path_lengths(lambda w: jnp.einsum('blw,lwo->bo', w, a), ws, y)
  grads = np.einsum('lwo,bo->blw', a, y)
  expected = np.sqrt(np.mean(np.sum(grads**2, axis=2), axis=1))
  np.testing.assert_allclose(lengths, expected, rtol=1e-5)


def test_mixing_takes_the_second_z_from_the_crossover_on(stepped):
  gan, states, _ = stepped
  params = states[0].generator_params
  rng = np.random.default_rng(1)
  z, z_other = (rng.normal(size=(3, Z_DIM)).astype(np.float32) for _ in range(2))
  crossover = np.array([1, 3, gan.num_ws])
  mixed, own, other = jax.jit(
    lambda p: (
      gan.mixed_ws(p, z, z_other, crossover),
      gan.mapped_ws(p, z),
      gan.mapped_ws(p, z_other),
    )
  )(params)
  for i, c in enumerate(crossover):
    np.testing.assert_array_equal(mixed[i, :c], own[i, :c])
    np.testing.assert_array_equal(mixed[i, c:], other[i, c:])
  # The step's draw: with probability 1 every example mixes at a layer in
  # [1, num_ws), so its first and last layers differ; with 0 none does.
  keys = jax.random.split(jax.random.key(3), 16)
  for probability, mixes in ((1.0, True), (0.0, False)):
    gan_p = tiny_stylegan(mixing_probability=probability)
    ws, w = jax.jit(gan_p._draw_ws)(params, keys)
    np.testing.assert_array_equal(ws[:, 0], w)
    assert bool(np.all(np.any(ws[:, -1] != ws[:, 0], axis=-1))) == mixes


def test_truncation_psi_0_gives_the_w_avg_image_and_psi_1_the_plain_one(stepped):
  gan, states, _ = stepped
  state = states[STEPS]
  state = state.replace(
    key=jax.random.wrap_key_data(state.key),
    w_avg=np.random.default_rng(2).normal(size=(W_DIM,)).astype(np.float32),
  )
  # Without noise keys (no noise): faster to compile, and the same ws.
  inputs = {'z': gan.sample_inputs(0, 3).inputs['z']}

  @jax.jit
  def expected(state, inputs):
    keys = None
    ema, ws = state.generator_ema, gan.mapped_ws(state.generator_ema, inputs['z'])
    at_average = networks.broadcast_ws(jnp.tile(state.w_avg, (3, 1)), gan.num_ws)
    below_cutoff = networks.truncate(ws, state.w_avg, 0.0, 2)
    return [gan.synthesize(ema, w, keys) for w in (ws, at_average, below_cutoff)]

  plain, at_average, below_cutoff = expected(state, inputs)
  # psi per sample, as the inputs may carry it (one compilation for both).
  sample = jax.jit(gan.sample)
  psi = lambda value: {**inputs, 'psi': np.full(3, value, np.float32)}
  np.testing.assert_allclose(sample(state, psi(1.0)), plain, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(sample(state, psi(0.0)), at_average, rtol=1e-5, atol=1e-6)
  # The model's own psi, and a cutoff that leaves the layers from it on alone.
  truncated = jax.jit(tiny_stylegan(truncation_psi=0.0, truncation_cutoff=2).sample)(state, inputs)
  np.testing.assert_allclose(truncated, below_cutoff, rtol=1e-5, atol=1e-6)
  assert not np.allclose(truncated, at_average)
  assert not np.allclose(plain, at_average)


def test_evaluation_inputs_extend_and_have_no_labels():
  gan = tiny_stylegan()
  small, labels = gan.evaluation_inputs(5, 3)
  large, _ = gan.evaluation_inputs(5, 6)
  assert labels is None
  np.testing.assert_array_equal(large['z'][:3], small['z'])
  np.testing.assert_array_equal(large['noise_keys'][:3], small['noise_keys'])
  with pytest.raises(ValueError, match='unconditional'):
    gan.sample_inputs(0, 4, label=1)


# Run in a subprocess: the number of CPU devices is fixed when JAX starts.
_EIGHT_DEVICES = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    import jax, numpy as np
    from jax.sharding import NamedSharding
    from jaxgan import parallel
    from jaxgan.train import steps
    from test_stylegan_model import STEPS, host, image_batch, stepped_stylegan
    assert jax.device_count() == 8, jax.devices()
    gan = stepped_stylegan()
    mesh = parallel.make_data_mesh(jax.devices())
    partition = gan.state_partition(jax.eval_shape(gan.init, jax.random.key(0)))
    shardings = jax.tree.map(lambda p: NamedSharding(mesh, p), partition)
    state = jax.jit(gan.init, out_shardings=shardings)(jax.random.key(0))
    call = steps.make_train_call(gan, mesh, partition)
    for step in range(STEPS):
      state, _ = call(state, steps.global_batches(mesh, image_batch(16, step), 1))
    np.savez({output!r}, *jax.tree.leaves(host(state)))
""")


# On Colab's versions CI checks 8 devices with test_classic_step.py's test
# only: what differs between jax versions is the train call's shard_map and
# collectives, the same there; where this family averages is the same code
# on every version, checked on the newest.
@pytest.mark.newest_versions_only
def test_eight_devices_give_the_one_device_result(stepped, tmp_path):
  # The 1-device run is the fixture's; the subprocess runs the same steps on 8.
  _, states, _ = stepped
  output = str(tmp_path / 'eight.npz')
  # A few steps: compiling is most of the time, so the subprocess keeps the
  # suite's faster compiling settings (tests/conftest.py); the numbers are
  # those of the same computation.
  env = dict(
    os.environ,
    XLA_FLAGS=f'{os.environ.get("XLA_FLAGS", "")} --xla_force_host_platform_device_count=8',
    JAX_PLATFORMS='cpu',
  )
  script = _EIGHT_DEVICES.format(root=ROOT, tests=os.path.dirname(__file__), output=output)
  completed = subprocess.run(
    [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=600
  )
  assert completed.returncode == 0, completed.stderr[-3000:]
  with np.load(output) as eight:
    eight = [eight[f'arr_{i}'] for i in range(len(eight.files))]
  one = jax.tree.leaves(states[STEPS])
  assert len(one) == len(eight)
  # Everything a step draws per example (z, mixing, crossover, noise, the
  # path length batch and its noise) is the same on 8 devices; what is left
  # is the rounding of sums taken in another order, over three steps (Adam
  # does not amplify it here: no parameter of StyleGAN2's networks has a
  # gradient of 0, as biases before a normalisation have).
  largest = max(float(np.max(np.abs(a - b))) for a, b in zip(one, eight))
  assert largest < 1e-4, largest
  assert float(states[STEPS].path_length_mean) > 0
