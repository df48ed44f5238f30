"""End-to-end tests of the StyleGAN family on the loop: config checks, exact resume, several devices."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from configs import default
from configs import stylegan2
from jaxgan import families
from jaxgan.families import stylegan
from jaxgan.train import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(data_dir, **overrides):
  """configs/stylegan2.py with the smallest networks, on MNIST resized to 8x8.

  R1 and the path length penalty every 2 steps, so that 4 steps take each
  twice, and a resume at step 2 starts on a regularised step.
  """
  config = stylegan2.get_config()
  config.data = default.data_config(data_dir=data_dir, resize=8)
  config.update(
    resolution=8,
    z_dim=8,
    w_dim=8,
    mapping_layers=2,
    fmap_base=64,
    fmap_max=8,
    mbstd_group_size=2,
    r1_interval=2,
    path_length_interval=2,
    ema_kimg=0.01,
    batch_size=4,
    num_steps=4,
    log_every=2,
    sample_every=2,
    checkpoint_every=2,
    num_samples=4,
    eval_every=0,
  )
  config.update(overrides)
  return config


def host(state):
  return jax.device_get(state.replace(key=jax.random.key_data(state.key)))


@pytest.mark.parametrize(
  'overrides,message',
  [
    (dict(resolution=12), 'config.resolution = 12 must be a power of 2'),
    (dict(resolution=16), 'builds StyleGAN for 16x16 images'),
    (dict(style='adaptive'), "config.style = 'adaptive'"),
    (dict(mixing_probability=1.5), 'config.mixing_probability = 1.5'),
    (dict(truncation_psi=float('nan')), 'config.truncation_psi = nan'),
    (dict(truncation_cutoff=9), 'config.truncation_cutoff = 9'),
    (dict(r1_gamma=-1.0), 'config.r1_gamma = -1.0'),
    (dict(mbstd_group_size=3), 'config.mbstd_group_size = 3'),
    (dict(discriminator_architecture='skip'), "config.discriminator_architecture = 'skip'"),
  ],
  ids=[
    'resolution',
    'data_size',
    'style',
    'mixing',
    'psi',
    'cutoff',
    'r1_gamma',
    'mbstd',
    'discriminator',
  ],
)
def test_config_mistakes_fail_before_anything_is_written(tmp_path, data_dir, overrides, message):
  with pytest.raises(ValueError, match=message.replace('.', r'\.')):
    loop.train_and_evaluate(tiny_config(data_dir, **overrides), str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()


def test_stylegan_is_a_family():
  assert 'stylegan' in families.available()
  assert families.load('stylegan') is stylegan


def test_lazy_regularisation_scales_the_optimizers_as_nvlabs():
  # c = 16 / 17: lr * c, betas ** c; interval 1 leaves the settings alone.
  settings = default.optimizer_config(0.002, 0.5, 0.99)
  scaled = stylegan.lazy_optimizer(settings, interval=16, num_steps=10)
  plain = stylegan.lazy_optimizer(settings, interval=1, num_steps=10)
  params = {'w': np.ones(3, np.float32)}
  grads = {'w': np.array([1.0, -2.0, 0.5], np.float32)}
  first = lambda opt: opt.update(grads, opt.init(params), params)[0]['w']
  # Adam's first update is -lr * sign(g) (up to eps), whatever the betas.
  np.testing.assert_allclose(first(scaled), -0.002 * 16 / 17 * np.sign(grads['w']), rtol=1e-5)
  np.testing.assert_allclose(first(plain), -0.002 * np.sign(grads['w']), rtol=1e-5)
  state = scaled.init(params)
  _, state = scaled.update(grads, state, params)
  np.testing.assert_allclose(state[0].mu['w'], (1 - 0.5 ** (16 / 17)) * grads['w'], rtol=1e-5)


def test_a_run_resumes_exactly_with_w_avg_path_length_mean_and_ema(tmp_path, data_dir):
  straight = loop.train_and_evaluate(tiny_config(data_dir), str(tmp_path / 'straight'))
  resumed = str(tmp_path / 'resumed')
  loop.train_and_evaluate(tiny_config(data_dir, num_steps=2), resumed)
  again = loop.train_and_evaluate(tiny_config(data_dir), resumed)
  assert int(again.step) == 4
  jax.tree.map(np.testing.assert_array_equal, host(again), host(straight))
  # What a plain resume of the networks alone would miss has moved.
  assert float(straight.path_length_mean) > 0
  assert float(np.linalg.norm(straight.w_avg)) > 0
  assert sorted(os.listdir(tmp_path / 'straight' / 'samples')) == [
    'step_0000002.png',
    'step_0000004.png',
  ]


# Run in a subprocess: the number of CPU devices is fixed when JAX starts.
_EIGHT_DEVICES = textwrap.dedent("""
    import dataclasses, json, sys
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    import jax, numpy as np, optax
    from jax.sharding import NamedSharding
    from jaxgan import parallel
    from jaxgan.train import steps
    from test_stylegan_model import image_batch, tiny_stylegan
    assert jax.device_count() == 8, jax.devices()
    # Plain SGD: Adam would turn rounding noise into steps of the full rate.
    # No minibatch stddev: its groups are each device's own examples (as
    # NVlabs' per-GPU batches), which differ between 1 and 8 devices.
    sgd = optax.sgd(0.01)
    gan = tiny_stylegan(global_batch=16, generator_optimizer=sgd, discriminator_optimizer=sgd,
                        r1_gamma=1.0, r1_interval=2, path_length_weight=2.0,
                        path_length_interval=2, mixing_probability=0.5, ema_kimg=0.01)
    gan = dataclasses.replace(gan, discriminator=gan.discriminator.clone(mbstd_group_size=0))
    results = []
    for devices in (jax.devices()[:1], jax.devices()):
      mesh = parallel.make_data_mesh(devices)
      partition = gan.state_partition(jax.eval_shape(gan.init, jax.random.key(0)))
      shardings = jax.tree.map(lambda p: NamedSharding(mesh, p), partition)
      state = jax.jit(gan.init, out_shardings=shardings)(jax.random.key(0))
      call = steps.make_train_call(gan, mesh, partition)
      for step in range(3):
        state, metrics = call(state, steps.global_batches(mesh, image_batch(16, step), 1))
      results.append(jax.device_get((
          state.generator_params, state.discriminator_params, state.generator_ema,
          state.w_avg, state.path_length_mean)))
    one, eight = results
    largest = max(jax.tree.leaves(jax.tree.map(
        lambda a, b: float(np.max(np.abs(a - b))), one, eight)))
    print(json.dumps({{'largest': largest, 'path_length_mean': float(one[-1])}}))
""")


def test_eight_devices_give_the_one_device_result():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=8', JAX_PLATFORMS='cpu')
  script = _EIGHT_DEVICES.format(root=ROOT, tests=os.path.join(ROOT, 'tests'))
  completed = subprocess.run(
    [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=600
  )
  assert completed.returncode == 0, completed.stderr[-3000:]
  result = json.loads(completed.stdout.strip().splitlines()[-1])
  assert result['path_length_mean'] > 0, result
  # Three steps amplify the rounding of sums taken in another order.
  assert result['largest'] < 1e-4, result
