"""End-to-end tests of train_and_evaluate: config errors, workdir, resume, learning."""

import glob
import logging
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from configs import dcgan as dcgan_config
from configs import gan as gan_config
from jaxgan import checkpointing
from jaxgan import data
from jaxgan import metrics
from jaxgan import step as step_lib
from jaxgan import trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gan_test_config(data_dir, **overrides):
  config = gan_config.get_config()
  config.data_dir = data_dir
  config.update(
    dict(
      num_steps=30, log_every=10, sample_every=10, checkpoint_every=10, num_samples=16, eval_every=0
    ),
    **overrides,
  )
  return config


def restore(workdir, config):
  """The final checkpoint of a run, as host numpy arrays, and its data position."""
  gan = trainer.build_gan(config, (28, 28, 1))
  checkpointer = checkpointing.Checkpointer(os.path.join(workdir, 'checkpoints'), max_to_keep=10)
  state, position = checkpointer.restore_latest(
    trainer.abstract_state(gan, step_lib.make_data_mesh())
  )
  checkpointer.close()
  return jax.device_get(state.replace(key=jax.random.key_data(state.key))), position


def assert_bitwise_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


@pytest.mark.parametrize(
  'overrides,message',
  [
    (dict(model='wgan'), "config.model = 'wgan'"),
    (dict(generator_loss='hinge'), "config.generator_loss = 'hinge'"),
    (dict(dtype='float16'), "config.dtype = 'float16'"),
    (dict(dataset='no_such_dataset'), 'no_such_dataset'),
    (dict(model='dcgan', resolution=64), 'config.resolution = 64'),
    (dict(model='dcgan', resolution=32), 'config.resolution = 32'),
    (dict(batch_size=0), 'config.batch_size = 0'),
  ],
  ids=['model', 'loss', 'dtype', 'dataset', 'image_size', 'resolution', 'batch_size'],
)
def test_config_mistakes_fail_before_anything_is_written(tmp_path, data_dir, overrides, message):
  workdir = str(tmp_path / 'run')
  with pytest.raises(ValueError, match='config') as error:
    trainer.train_and_evaluate(gan_test_config(data_dir, **overrides), workdir)
  assert message in str(error.value)
  assert not os.path.exists(workdir)


def test_a_workdir_is_not_resumed_with_another_model(tmp_path, data_dir):
  workdir = str(tmp_path)
  trainer.train_and_evaluate(gan_test_config(data_dir, num_steps=2), workdir)
  with pytest.raises(ValueError, match="model: 'gan' -> 'dcgan'.*new --workdir"):
    trainer.train_and_evaluate(gan_test_config(data_dir, model='dcgan'), workdir)
  assert os.listdir(os.path.join(workdir, 'checkpoints')) == ['2']


def test_batch_must_divide_over_devices():
  config = gan_config.get_config()
  config.batch_size = 60
  with pytest.raises(ValueError, match='--config.batch_size=64'):
    trainer.check_config(config, device_count=8)
  trainer.check_config(config, device_count=4)


def test_dcgan_trains_and_writes_its_workdir(tmp_path, data_dir):
  config = dcgan_config.get_config()
  config.update(
    data_dir=data_dir,
    num_steps=4,
    batch_size=8,
    log_every=2,
    sample_every=2,
    checkpoint_every=2,
    num_samples=4,
    eval_every=0,
  )
  workdir = str(tmp_path)
  state = trainer.train_and_evaluate(config, workdir)
  assert int(state.step) == 4
  assert sorted(os.listdir(os.path.join(workdir, 'samples'))) == [
    'step_0000002.png',
    'step_0000004.png',
  ]
  assert glob.glob(os.path.join(workdir, 'tensorboard', 'events.out.tfevents.*'))
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['2', '4']
  assert os.path.exists(os.path.join(workdir, 'config.json'))


def test_stop_by_signal_and_resume_are_exact(tmp_path, data_dir):
  """N steps straight == k steps, SIGTERM, then a new process to N: bit for bit."""
  num_steps = 300
  straight = str(tmp_path / 'straight')
  trainer.train_and_evaluate(
    gan_test_config(
      data_dir, num_steps=num_steps, checkpoint_every=1000, log_every=100, sample_every=1000
    ),
    straight,
  )

  resumed = str(tmp_path / 'resumed')
  command = [
    sys.executable,
    'train.py',
    '--config=configs/gan.py',
    f'--workdir={resumed}',
    f'--config.data_dir={data_dir}',
    f'--config.num_steps={num_steps}',
    '--config.checkpoint_every=10',
    '--config.log_every=10',
    '--config.sample_every=1000',
    '--config.eval_every=0',
  ]
  process = subprocess.Popen(
    command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
  )
  first_checkpoint = os.path.join(resumed, 'checkpoints', '10')
  deadline = time.monotonic() + 300
  while not os.path.exists(first_checkpoint) and process.poll() is None:
    assert time.monotonic() < deadline, 'no checkpoint within 300 s'
    time.sleep(0.05)
  process.send_signal(signal.SIGTERM)
  output, _ = process.communicate(timeout=300)
  assert process.returncode == 0, output[-3000:]
  assert 'Stopped by SIGTERM' in output and 'Run the same command again' in output, output[-3000:]
  stopped_at = max(
    int(name) for name in os.listdir(os.path.join(resumed, 'checkpoints')) if name.isdigit()
  )
  assert 10 <= stopped_at < num_steps

  completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert completed.returncode == 0, completed.stderr[-3000:]
  assert f'Resuming from the checkpoint at step {stopped_at}' in completed.stderr

  config = gan_test_config(data_dir)
  straight_state, straight_position = restore(straight, config)
  resumed_state, resumed_position = restore(resumed, config)
  assert int(resumed_state.step) == num_steps
  assert resumed_position == straight_position
  assert_bitwise_equal(resumed_state, straight_state)

  # Once finished, the same command says so and changes nothing.
  again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert again.returncode == 0 and 'already reached step 300' in again.stderr


def test_damaged_latest_checkpoint_is_set_aside(tmp_path, data_dir, caplog):
  straight = str(tmp_path / 'straight')
  trainer.train_and_evaluate(gan_test_config(data_dir), straight)

  workdir = str(tmp_path / 'run')
  trainer.train_and_evaluate(gan_test_config(data_dir, num_steps=20), workdir)
  checkpoints = os.path.join(workdir, 'checkpoints')
  assert sorted(os.listdir(checkpoints)) == ['10', '20']
  # Damage step 20 as a disk or a hand might: its array data truncated.
  for path in glob.glob(os.path.join(checkpoints, '20', 'state', '**', '*'), recursive=True):
    if os.path.isfile(path):
      open(path, 'w').close()

  with caplog.at_level(logging.WARNING):
    state = trainer.train_and_evaluate(gan_test_config(data_dir), workdir)
  assert 'Checkpoint at step 20' in caplog.text and 'does not restore' in caplog.text
  assert int(state.step) == 30
  set_aside = os.listdir(checkpoints + '_corrupt')
  assert len(set_aside) == 1 and set_aside[0].startswith('20-')
  # Resumed from step 10, it still follows the uninterrupted run exactly.
  assert_bitwise_equal(
    restore(workdir, gan_test_config(data_dir))[0], restore(straight, gan_test_config(data_dir))[0]
  )


def pixel_frechet_distance(state, gan, real):
  """Fréchet distance between Gaussian fits of sample and real pixels."""
  z = jax.random.normal(jax.random.key(42), (len(real), gan.latent_dim))
  samples = np.asarray(step_lib.make_sample_fn(gan.generator)(state, z))
  return metrics.frechet_distance_from_features(samples.reshape(len(real), -1), real)


@pytest.mark.slow
def test_vanilla_gan_learns_mnist(tmp_path, data_dir):
  # 600 steps (15-20 s on 2 cores) take the pixel Fréchet distance to the
  # test digits from 723 to about 180. Flipping the sign of G's loss by hand
  # sends it to about 1900 instead, so the threshold separates the two.
  config = gan_test_config(
    data_dir, num_steps=600, log_every=200, sample_every=600, checkpoint_every=600
  )
  test_images, _ = data.load_split('bundled_mnist', split='test', data_dir=data_dir)
  real = test_images.reshape(len(test_images), -1)
  gan = trainer.build_gan(config, (28, 28, 1))
  initial = pixel_frechet_distance(
    trainer.initial_state(gan, config.seed, step_lib.make_data_mesh()), gan, real
  )
  state = trainer.train_and_evaluate(config, str(tmp_path))
  trained = pixel_frechet_distance(state, gan, real)
  assert trained < 0.4 * initial, (initial, trained)
