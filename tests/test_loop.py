"""End-to-end tests of the training loop: config errors, workdir, resume, stop, learning."""

import contextlib
import glob
import importlib
import importlib.abc
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import traceback

import chex
import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image
from tensorflow_datasets.testing import mocking

from configs import dcgan as dcgan_config
from configs import gan as gan_config
from jaxgan import data
from jaxgan.eval import metrics
from jaxgan.train import experiment
from jaxgan.train import init_from
from jaxgan.train import loop
from jaxgan.train import saved_runs
from tests.test_toy2d import small_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gan_test_config(data_dir, **overrides):
  """configs/gan.py, shrunk, at one step per call: the loop's events land on any step."""
  config = gan_config.get_config()
  config.data.data_dir = data_dir
  config.update(
    dict(
      num_steps=30,
      steps_per_call=1,
      log_every=10,
      sample_every=10,
      checkpoint_every=10,
      num_samples=16,
      eval_every=0,
    ),
    **overrides,
  )
  return config


def restore(workdir):
  """The latest checkpoint of a run, as host numpy arrays, and its data positions."""
  run = saved_runs.load_run(workdir)
  with open(os.path.join(run.checkpoint, 'data', 'metadata')) as f:
    data_state = json.load(f)
  return jax.device_get(run.state.replace(key=jax.random.key_data(run.state.key))), data_state


def assert_bitwise_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


@pytest.mark.parametrize(
  'overrides,message',
  [
    (dict(family='stylegan9'), "config.family = 'stylegan9' is not a package"),
    (dict(model='wgan'), "config.model = 'wgan'"),
    (dict(loss='hinge_loss'), "config.loss = 'hinge_loss'"),
    (dict(dtype='float16'), "config.dtype = 'float16'"),
    (dict(data=dict(source='no_such_dataset')), 'no_such_dataset'),
    (dict(data=dict(source='/no/such/folder')), '/no/such/folder'),
    (dict(data=dict(center_crop=20, random_crop=20)), 'config.data'),
    (dict(model='dcgan', resolution=64), 'config.resolution = 64'),
    (dict(model='dcgan', resolution=32), 'config.resolution = 32'),
    (dict(batch_size=0), 'config.batch_size = 0'),
    (dict(steps_per_call=4), 'config.log_every = 10 is not a multiple of config.steps_per_call'),
    (dict(loss='wasserstein'), '--config.weight_clip=0.01'),
    (
      dict(model='dcgan', gradient_penalty=10.0),
      '--config.discriminator_normalization=layer_norm',
    ),
    (dict(r1_gamma=1.0, minibatch_stddev=4), 'minibatch_stddev = 4'),
    (dict(packing=3), 'multiple of 3'),
    (dict(ema_decay=1.0), 'config.ema_decay = 1.0'),
    (dict(critic_steps=0), 'config.critic_steps = 0'),
    (dict(packing=2, conditioning='concat'), "config.conditioning = 'concat'"),
    (dict(conditioning='label'), "config.conditioning = 'label'"),
    (
      dict(generator_optimizer=dict(decay_to_zero_steps=40)),
      'config.generator_optimizer: warmup_steps (0) and decay_to_zero_steps (40)',
    ),
    (dict(seed=-1), 'config.seed = -1'),
    (dict(nonfinite='stop'), "config.nonfinite = 'stop'"),
    (dict(generator_optimizer=dict(learning_rate=float('nan'))), 'learning_rate = nan'),
    (dict(discriminator_optimizer=dict(learning_rate=-1e-4)), 'learning_rate = -0.0001'),
    (dict(generator_optimizer=dict(b1=1.0)), 'config.generator_optimizer.b1 = 1.0'),
    (dict(init_from='/no/such/run'), "config.init_from = '/no/such/run'"),
  ],
  ids=[
    'family',
    'model',
    'loss',
    'dtype',
    'dataset',
    'folder',
    'two_crops',
    'image_size',
    'resolution',
    'batch_size',
    'steps_per_call',
    'unconstrained_critic',
    'penalty_with_batch_norm',
    'penalty_with_minibatch_layer',
    'packing_batch',
    'ema_decay',
    'critic_steps',
    'packing_with_labels',
    'conditioning',
    'schedule',
    'seed',
    'nonfinite',
    'nan_learning_rate',
    'negative_learning_rate',
    'adam_beta',
    'init_from',
  ],
)
def test_config_mistakes_fail_before_anything_is_written(tmp_path, data_dir, overrides, message):
  workdir = str(tmp_path / 'run')
  with pytest.raises(ValueError, match='config') as error:
    loop.train_and_evaluate(gan_test_config(data_dir, **overrides), workdir)
  assert message in str(error.value)
  assert not os.path.exists(workdir)


def test_batch_must_divide_over_devices_and_hosts():
  config = gan_config.get_config()
  config.batch_size = 60
  with pytest.raises(ValueError, match='--config.batch_size=64'):
    experiment.check_loop_config(config, device_count=8, process_count=1)
  with pytest.raises(ValueError, match='8 hosts'):
    experiment.check_loop_config(config, device_count=4, process_count=8)
  experiment.check_loop_config(config, device_count=4, process_count=2)


def test_a_workdir_is_not_resumed_with_a_config_of_another_layout(tmp_path, data_dir):
  workdir = str(tmp_path)
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=2, checkpoint_every=2), workdir)
  saved_config = open(os.path.join(workdir, 'config.json')).read()
  for overrides, change in (
    (dict(model='dcgan'), "model: 'gan' -> 'dcgan'"),
    (dict(generator_optimizer=dict(name='rmsprop')), "generator_optimizer.name: 'adam'"),
    (dict(ema_decay=0.999), 'ema_decay: 0.0 -> 0.999'),
  ):
    with pytest.raises(ValueError, match='another state layout.*Nothing was changed') as error:
      loop.train_and_evaluate(gan_test_config(data_dir, num_steps=4, **overrides), workdir)
    assert change in str(error.value)
    assert f'--config.init_from={workdir}' in str(error.value)
    # The run's checkpoints and config stay as they were.
    assert os.listdir(os.path.join(workdir, 'checkpoints')) == ['2']
    assert not os.path.exists(os.path.join(workdir, 'checkpoints_corrupt'))
    assert open(os.path.join(workdir, 'config.json')).read() == saved_config


def test_a_workdir_is_not_resumed_on_other_data(tmp_path, data_dir):
  workdir = str(tmp_path)
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=2, checkpoint_every=2), workdir)
  with pytest.raises(ValueError, match="data.source: 'bundled_mnist' -> 'stacked_mnist'"):
    loop.train_and_evaluate(
      gan_test_config(data_dir, num_steps=4, data=dict(source='stacked_mnist')), workdir
    )
  assert os.listdir(os.path.join(workdir, 'checkpoints')) == ['2']


def _train_command(workdir, data_dir, **flags):
  flags = (
    dict(steps_per_call=1, checkpoint_every=1000, log_every=10, sample_every=1000, eval_every=0)
    | flags
  )
  return [
    sys.executable,
    'train.py',
    '--config=configs/gan.py',
    f'--workdir={workdir}',
    f'--config.data.data_dir={data_dir}',
    *(f'--config.{name}={value}' for name, value in flags.items()),
  ]


def stop_by_sigterm_once_logged(command, logged):
  """Runs `command`, sends SIGTERM once it prints `logged`; (the step it stopped at, output).

  Fails unless it exits with status 0 and says which step it saved.
  """
  process = subprocess.Popen(
    command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
  )
  lines = []
  try:
    for line in process.stdout:
      lines.append(line)
      if logged in line:
        process.send_signal(signal.SIGTERM)
        break
    output = ''.join(lines) + process.communicate(timeout=300)[0]
  finally:
    process.kill()
  assert process.returncode == 0, output[-3000:]
  stopped = re.search(r'Stopped by SIGTERM at step (\d+); the checkpoint is saved', output)
  assert stopped, output[-3000:]
  return int(stopped.group(1)), output


def test_a_stop_between_checkpoints_saves_that_step_and_resumes_exactly(tmp_path, data_dir, caplog):
  """N steps straight == SIGTERM at a step without a periodic checkpoint, then resume: bitwise."""
  num_steps = 200
  straight = str(tmp_path / 'straight')
  loop.train_and_evaluate(
    gan_test_config(
      data_dir, num_steps=num_steps, checkpoint_every=1000, log_every=100, sample_every=1000
    ),
    straight,
  )

  resumed = str(tmp_path / 'resumed')
  command = _train_command(resumed, data_dir, num_steps=num_steps)
  # No periodic checkpoint before step 1000.
  stopped_at, _ = stop_by_sigterm_once_logged(command, 'step 100/200')
  assert 100 <= stopped_at < num_steps
  assert os.listdir(os.path.join(resumed, 'checkpoints')) == [str(stopped_at)]

  completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert completed.returncode == 0, completed.stderr[-3000:]
  assert f'Resuming from the checkpoint at step {stopped_at}' in completed.stderr

  straight_state, straight_data = restore(straight)
  resumed_state, resumed_data = restore(resumed)
  assert int(resumed_state.step) == num_steps
  assert resumed_data == straight_data
  assert_bitwise_equal(resumed_state, straight_state)

  # Once finished, the same run says so and changes nothing.
  with caplog.at_level(logging.INFO):
    loop.train_and_evaluate(gan_test_config(data_dir, num_steps=num_steps), resumed)
  assert 'already reached step 200' in caplog.text
  assert sorted(os.listdir(os.path.join(resumed, 'checkpoints'))) == [str(stopped_at), '200']


# Compiled as a run is: with XLA:CPU's older fusion emitters (the suite's,
# tests/conftest.py) a loop on the device rounds otherwise than the separate
# steps, and Adam scales that up: 1.5e-4 apart after these 24 steps in the
# biases in front of G's BatchNorms (jax 0.10.2; 1e-4 in the BatchNorms'
# own on 0.7.2), bit for bit the same with the MLIR ones.
@pytest.mark.full_optimization
def test_steps_per_call_follows_the_same_path_and_resumes_exactly(tmp_path, data_dir):
  one = loop.train_and_evaluate(gan_test_config(data_dir, num_steps=24), str(tmp_path / 'one'))
  overrides = dict(steps_per_call=4, log_every=4, sample_every=12, checkpoint_every=12)
  four = loop.train_and_evaluate(
    gan_test_config(data_dir, num_steps=24, **overrides), str(tmp_path / 'four')
  )
  # A loop on the device rounds as the separate steps do, up to fusion.
  chex.assert_trees_all_close(
    (one.generator_params, one.discriminator_params),
    (four.generator_params, four.discriminator_params),
    atol=1e-5,
  )
  # Stopped at 12 and resumed to 24 (with another number of steps per
  # call), the run is the uninterrupted one, bit for bit.
  resumed = str(tmp_path / 'resumed')
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=12, **overrides), resumed)
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=24, **overrides), resumed)
  assert_bitwise_equal(restore(resumed), restore(str(tmp_path / 'four')))


def test_damaged_latest_checkpoint_is_set_aside(tmp_path, data_dir, caplog):
  straight = str(tmp_path / 'straight')
  loop.train_and_evaluate(gan_test_config(data_dir), straight)

  workdir = str(tmp_path / 'run')
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=20), workdir)
  checkpoints = os.path.join(workdir, 'checkpoints')
  assert sorted(os.listdir(checkpoints)) == ['10', '20']
  # Damage step 20 as a disk or a hand might: its array data truncated.
  for path in glob.glob(os.path.join(checkpoints, '20', 'state', '**', '*'), recursive=True):
    if os.path.isfile(path):
      open(path, 'w').close()

  with caplog.at_level(logging.WARNING):
    state = loop.train_and_evaluate(gan_test_config(data_dir), workdir)
  assert 'Checkpoint at step 20' in caplog.text and 'does not restore' in caplog.text
  assert int(state.step) == 30
  set_aside = os.listdir(checkpoints + '_corrupt')
  assert len(set_aside) == 1 and set_aside[0].startswith('20-')
  # Resumed from step 10, it still follows the uninterrupted run exactly.
  assert_bitwise_equal(restore(workdir), restore(straight))


def test_bad_data_positions_in_the_latest_checkpoint_fall_back_to_the_one_before(
  tmp_path, data_dir, caplog
):
  workdir = str(tmp_path)
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=20), workdir)
  # Valid JSON, impossible as a position.
  position = os.path.join(workdir, 'checkpoints', '20', 'data', 'metadata')
  with open(position, 'w') as f:
    json.dump({'real': {'epoch': 0, 'index': 999999}}, f)
  with caplog.at_level(logging.INFO):
    state = loop.train_and_evaluate(gan_test_config(data_dir, num_steps=20), workdir)
  assert 'Checkpoint at step 20' in caplog.text
  assert 'Resuming from the checkpoint at step 10' in caplog.text
  assert int(state.step) == 20
  assert os.listdir(os.path.join(workdir, 'checkpoints_corrupt'))[0].startswith('20-')


def all_finite(tree):
  return all(
    np.all(np.isfinite(x)) for x in jax.tree.leaves(tree) if np.asarray(x).dtype.kind == 'f'
  )


def test_a_diverging_run_halts_before_saving_and_keeps_every_good_checkpoint(tmp_path, data_dir):
  workdir = str(tmp_path)
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=20, keep_checkpoints=2), workdir)
  good = restore(workdir)
  exploding = dict(
    num_steps=60,
    keep_checkpoints=2,
    generator_optimizer=dict(learning_rate=1e6),
    discriminator_optimizer=dict(learning_rate=1e6),
  )
  with pytest.raises(FloatingPointError) as error:
    loop.train_and_evaluate(gan_test_config(data_dir, **exploding), workdir)
  message = str(error.value)
  assert 'Step 21 produced non-finite values' in message
  assert f'the last good checkpoint is step 20 in {workdir}' in message
  assert '--config.nonfinite=skip' in message
  # Nothing was saved past step 20, and rotation took nothing away.
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['10', '20']
  assert_bitwise_equal(restore(workdir), good)

  # Under 'skip', each bad step is dropped: the run ends with a finite
  # state, which is step 20's since every step at this rate goes bad.
  state = loop.train_and_evaluate(gan_test_config(data_dir, nonfinite='skip', **exploding), workdir)
  assert int(state.step) == 60
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['50', '60']
  final, _ = restore(workdir)
  assert all_finite(final)
  chex.assert_trees_all_equal(final.generator_params, good[0].generator_params)


def test_a_resume_may_change_the_schedule_and_init_from_starts_a_new_layout(
  tmp_path, data_dir, caplog
):
  old = str(tmp_path / 'old')
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=10), old)
  # Learning rates, lengths and cadences change on a resume, and it says so.
  with caplog.at_level(logging.INFO):
    state = loop.train_and_evaluate(
      gan_test_config(
        data_dir, num_steps=20, log_every=5, generator_optimizer=dict(learning_rate=1e-4)
      ),
      old,
    )
  assert int(state.step) == 20
  assert 'Resuming from the checkpoint at step 10' in caplog.text
  assert 'generator_optimizer.learning_rate: 0.0002 -> 0.0001' in caplog.text

  # Another optimizer cannot resume (test above); a new run starts from the
  # old parameters, with fresh optimizer states and step.
  new_config = gan_test_config(data_dir, num_steps=10, generator_optimizer=dict(name='rmsprop'))
  new_config.init_from = old
  started = init_from.initial_state(experiment.prepare(new_config), old)
  old_state, _ = restore(old)
  chex.assert_trees_all_equal(
    (started.generator_params, started.discriminator_params),
    (old_state.generator_params, old_state.discriminator_params),
  )
  assert int(started.step) == 0
  assert int(started.discriminator_opt_state[0].count) == 0
  new = str(tmp_path / 'new')
  assert int(loop.train_and_evaluate(new_config, new).step) == 10
  assert sorted(os.listdir(os.path.join(new, 'checkpoints'))) == ['10']


def test_a_workdir_this_user_cannot_write_is_refused_before_anything_is_written(
  tmp_path, data_dir, monkeypatch
):
  workdir = str(tmp_path / 'run')
  loop.train_and_evaluate(gan_test_config(data_dir, num_steps=2, checkpoint_every=2), workdir)
  before = sorted(os.listdir(workdir)), open(os.path.join(workdir, 'config.json')).read()
  checkpoints = os.path.join(workdir, 'checkpoints')
  # As chmod a-w would for a user other than root (root writes anyway).
  real_access = os.access
  monkeypatch.setattr(
    os, 'access', lambda path, mode: str(path) != checkpoints and real_access(path, mode)
  )
  with pytest.raises(ValueError, match=f'{checkpoints} is not writable'):
    loop.train_and_evaluate(gan_test_config(data_dir, num_steps=4), workdir)
  assert (sorted(os.listdir(workdir)), open(os.path.join(workdir, 'config.json')).read()) == before
  assert os.listdir(checkpoints) == ['2']


@pytest.mark.parametrize('during', ['evaluation', 'save'])
def test_a_signal_during_an_evaluation_or_a_save_saves_that_step_at_once(
  tmp_path, data_dir, during, caplog
):
  """SIGTERM as step 100 ends; an evaluation or a checkpoint of step 100 then runs.

  A dropped evaluation is made by the resumed run.
  """
  workdir = str(tmp_path)
  flags = (
    dict(eval_every=100, eval_samples=10000)
    if during == 'evaluation'
    else dict(checkpoint_every=100)
  )
  command = _train_command(workdir, data_dir, num_steps=200, log_every=100, **flags)
  # 'step 100/200' is logged before the step's save and evaluation.
  stopped_at, output = stop_by_sigterm_once_logged(command, 'step 100/200')
  assert os.listdir(os.path.join(workdir, 'checkpoints')) == [str(stopped_at)]
  assert int(restore(workdir)[0].step) == stopped_at
  if during == 'evaluation':
    # The evaluation was dropped, not waited out: it wrote nothing.
    assert not os.path.exists(os.path.join(workdir, 'metrics.json'))
    assert 'fid=' not in output
    assert stopped_at == 100

    # The resumed run owes it, even with nothing left to train: made once.
    resume = gan_test_config(
      data_dir,
      num_steps=stopped_at,
      log_every=100,
      checkpoint_every=1000,
      sample_every=1000,
      eval_every=100,
      eval_samples=1000,
    )
    with caplog.at_level(logging.INFO):
      loop.train_and_evaluate(resume, workdir)
    with open(os.path.join(workdir, 'metrics.json')) as f:
      report = json.load(f)
    assert report['step'] == stopped_at and report['metrics']['fid'] > 0
    # Its last step is due for a grid too, which the first run never reached.
    assert os.path.exists(os.path.join(workdir, 'samples', f'step_{stopped_at:07d}.png'))
    assert 'making the sample grid or evaluation a stop skipped there' in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
      loop.train_and_evaluate(resume, workdir)
    assert 'already reached step 100 of config.num_steps = 100; nothing to do' in caplog.text
    assert 'fid=' not in caplog.text


def test_every_evaluation_is_kept_and_one_made_again_replaces_the_old(tmp_path):
  config = small_config(num_steps=40)  # Evaluated and saved every 20 steps.
  workdir = tmp_path / 'run'
  loop.train_and_evaluate(config, str(workdir))
  lines = (workdir / 'evaluations.jsonl').read_text().splitlines()
  made = [json.loads(line) for line in lines]
  assert [evaluation['step'] for evaluation in made] == [20, 40]
  latest = json.loads((workdir / 'metrics.json').read_text())
  assert made[-1] == {'step': 40, **latest['metrics']}
  # As if killed after step 40's evaluation and before its save: the run
  # resumes at step 20 and makes step 40 and its evaluation again, which
  # replaces the first: the same figures, for the resume follows the same
  # path. (On jax 0.7.2 they did so only with XNNPACK turned off: this test
  # found that fault, compilation.compiler_options.)
  shutil.rmtree(workdir / 'checkpoints' / '40')
  loop.train_and_evaluate(config, str(workdir))
  remade = (workdir / 'evaluations.jsonl').read_text().splitlines()
  assert [json.loads(line)['step'] for line in remade] == [20, 40]
  assert remade[0] == lines[0]
  latest = json.loads((workdir / 'metrics.json').read_text())
  assert json.loads(remade[1]) == {'step': 40, **latest['metrics']}
  assert remade == lines


@pytest.mark.parametrize(
  'step,grid_saved,evaluated_step,owed',
  [
    (100, False, None, (True, True)),  # Stopped on a step due for both.
    (100, True, 80, (False, True)),  # The grid made it, the evaluation did not.
    (100, True, 100, (False, False)),  # Both made before the stop.
    (100, False, 120, (True, False)),  # Resumed before a later evaluation.
    (110, False, None, (False, False)),  # Not a step due for either.
    (170, False, 160, (True, True)),  # The last step is due for both.
  ],
)
def test_a_resumed_run_owes_the_grid_and_evaluation_a_stop_skipped(
  step, grid_saved, evaluated_step, owed
):
  assert (
    loop.outputs_owed(
      step,
      num_steps=170,
      sample_every=50,
      eval_every=20,
      grid_saved=grid_saved,
      evaluated_step=evaluated_step,
    )
    == owed
  )
  never = dict(num_steps=170, sample_every=0, eval_every=0)
  assert loop.outputs_owed(step, **never, grid_saved=False, evaluated_step=None) == (False, False)


def pixel_frechet_distance(model, state, real):
  """Fréchet distance between Gaussian fits of sample and real pixels."""
  z = jax.random.normal(jax.random.key(42), (len(real), model.latent_dim))
  samples = np.asarray(model.sample(state, {'z': z}))
  return metrics.frechet_distance_from_features(samples.reshape(len(real), -1), real)


class _ImportAttempts(importlib.abc.MetaPathFinder):
  """Records (and refuses) every attempt to import `package` or its modules."""

  def __init__(self, package: str):
    self.package = package
    self.attempts: list[str] = []

  def find_spec(self, name, path=None, target=None):
    del path, target
    if name == self.package or name.startswith(self.package + '.'):
      self.attempts.append(f'import {name}, from:\n' + ''.join(traceback.format_stack(limit=12)))
      raise ModuleNotFoundError(f'No module named {name!r} (refused by the test)', name=name)
    return None  # Not this package: the other finders look for it.


@contextlib.contextmanager
def imports_of(package: str):
  """Within the block, importing `package` fails and is recorded in the yielded list."""
  if package in sys.modules:
    pytest.skip(f'{package} was imported before this test; run it in a fresh process.')
  finder = _ImportAttempts(package)
  sys.meta_path.insert(0, finder)
  try:
    yield finder.attempts
  finally:
    sys.meta_path.remove(finder)


@pytest.mark.slow
@pytest.mark.full_optimization
def test_vanilla_gan_learns_mnist_without_tensorflow(tmp_path, data_dir):
  # 600 steps (15-20 s on 2 cores) take the pixel Fréchet distance to the
  # test digits from 723 to about 180 (182 at ten steps per call, 2026-12-05).
  # Flipping the sign of G's loss by hand sends it to about 1900 instead
  # (1918), so the threshold separates the two.
  config = gan_test_config(
    data_dir,
    num_steps=600,
    steps_per_call=gan_config.get_config().steps_per_call,  # As configs/gan.py ships.
    log_every=200,
    sample_every=600,
    checkpoint_every=600,
  )
  # Colab's TPU runtime has no TensorFlow: nothing on the training path may
  # import it, even in a try block (an attempt fails this test whether or
  # not TensorFlow is installed).
  with imports_of('tensorflow') as tensorflow_imports:
    test_images, _ = data.load_split('bundled_mnist', split='test', data_dir=data_dir)
    real = test_images.reshape(len(test_images), -1)
    prepared = experiment.prepare(config)
    before = pixel_frechet_distance(prepared.model, prepared.init(config.seed), real)
    state = loop.train_and_evaluate(config, str(tmp_path))
    after = pixel_frechet_distance(prepared.model, state, real)
  assert not tensorflow_imports, tensorflow_imports[0]
  assert after < 0.4 * before, (before, after)


@pytest.mark.parametrize(
  'name,overrides',
  [
    # Five real batches per step, one per critic update, from the stream.
    ('wgan_gp', {}),
    # Labels from the stream. (The conditional DCGAN with hinge loss and
    # spectral normalisation, one config away, is test_step_checksums.py's
    # cgan_dcgan_hinge_sn_projection.)
    ('cgan', dict(loss='hinge', spectral_norm=True, conditioning='projection')),
  ],
)
def test_configs_with_more_data_per_step_train_with_finite_losses(
  tmp_path, data_dir, name, overrides
):
  # Every config's step is checked value for value by test_step_checksums.py
  # through the loop's train call; these go through the whole loop as well.
  config = importlib.import_module(f'configs.{name}').get_config()
  config.data.data_dir = data_dir
  config.update(
    dict(
      num_steps=20,
      batch_size=16,
      log_every=10,  # The loop raises if a logged loss is not finite.
      sample_every=20,
      checkpoint_every=20,
      eval_every=0,
    ),
    **overrides,
  )
  # Two calls of the shipped ten steps, each step with its own batches.
  assert config.steps_per_call == 10
  state = loop.train_and_evaluate(config, str(tmp_path))
  assert int(state.step) == 20
  chex.assert_tree_all_finite((state.generator_params, state.discriminator_params))
  assert os.listdir(os.path.join(str(tmp_path), 'checkpoints')) == ['20']


def _jpeg_folder(root):
  """Two classes of JPEGs (and a PNG) of odd sizes, grey and colour."""
  rng = np.random.default_rng(0)
  for index, (height, width, mode) in enumerate(
    [(90, 61, 'RGB'), (37, 53, 'L'), (70, 70, 'RGB'), (101, 80, 'RGB'), (64, 99, 'L')] * 2
  ):
    folder = root / ('cats' if index % 2 else 'dogs')
    folder.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    image.save(folder / f'{index}.{"png" if index == 3 else "jpg"}')
  return str(root)


@pytest.mark.parametrize('source', ['folder', 'celeb_a'])
def test_the_64x64_dcgan_trains_on_resized_and_cropped_images(tmp_path, monkeypatch, source):
  config = dcgan_config.get_config('paper')
  config.update(
    resolution=64,
    num_steps=4,
    batch_size=4,
    steps_per_call=1,
    log_every=1,
    sample_every=2,
    checkpoint_every=2,
    num_samples=4,
    eval_every=0,
  )
  config.data.update(resize=64, center_crop=64)
  if source == 'folder':
    config.data.source = _jpeg_folder(tmp_path / 'images')
    context = contextlib.nullcontext()
  else:
    # A prepared celeb_a (218x178 photos), as TFDS's mock gives it offline.
    config.data.update(source='celeb_a', data_dir=str(tmp_path / 'tfds'))
    monkeypatch.setattr(
      mocking, '_getitems', lambda keys, generator, serialized=False: [generator[k] for k in keys]
    )
    context = tfds.testing.mock_data(num_examples=8, policy=tfds.testing.MockPolicy.USE_CODE)
  workdir = tmp_path / 'run'
  with context:
    state = loop.train_and_evaluate(config, str(workdir))
  assert int(state.step) == 4
  chex.assert_tree_all_finite((state.generator_params, state.discriminator_params))
  grid = np.asarray(Image.open(workdir / 'samples' / 'step_0000002.png'))
  assert grid.shape == (2 * 66 + 2, 2 * 66 + 2, 3)
  # What the workdir holds.
  assert sorted(os.listdir(workdir / 'samples')) == ['step_0000002.png', 'step_0000004.png']
  assert glob.glob(str(workdir / 'tensorboard' / 'events.out.tfevents.*'))
  assert sorted(os.listdir(workdir / 'checkpoints')) == ['2', '4']
  with open(workdir / 'config.json') as f:
    assert json.load(f)['model'] == 'dcgan'
