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

from jaxgan import dcgan
from jaxgan import losses
from jaxgan import mlp
from jaxgan import state as state_lib
from jaxgan import step as step_lib

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


def setup(model, mesh, optimizer, generator_loss=losses.non_saturating_generator_loss):
  generator, discriminator = small_models(model)
  state = state_lib.create_state(
    jax.random.key(0),
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=optimizer,
    discriminator_optimizer=optimizer,
    latent_dim=10,
  )
  state = jax.device_put(state, NamedSharding(mesh, P()))
  train_step = step_lib.make_train_step(
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=optimizer,
    discriminator_optimizer=optimizer,
    generator_loss=generator_loss,
    latent_dim=10,
    mesh=mesh,
  )
  return state, train_step


def image_batch(mesh, seed, size=16):
  images = jax.random.uniform(jax.random.key(seed), (size, 8, 8, 1), minval=-1, maxval=1)
  return {'image': jax.device_put(images, NamedSharding(mesh, P(step_lib.DATA_AXIS)))}


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


# Run in a subprocess: the number of CPU devices is fixed when JAX starts.
_MULTI_DEVICE_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np, optax
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from jaxgan import step as step_lib
    from test_step import setup, image_batch
    assert jax.device_count() == 8, jax.devices()
    results = {{}}
    for model in ('gan', 'dcgan'):
      outputs = []
      for devices in (jax.devices()[:1], jax.devices()):
        mesh = step_lib.make_data_mesh(devices)
        # Plain SGD: Adam's normalised update would hide a gradient that is
        # off by a constant factor.
        state, train_step = setup(model, mesh, optax.sgd(0.5))
        for i in range(2):
          state, metrics = train_step(state, image_batch(mesh, i))
        outputs.append(jax.device_get((state.generator_params, state.discriminator_params,
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
