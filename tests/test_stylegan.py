"""End-to-end tests of the StyleGAN family on the loop: config checks, lazy optimizers, exact resume.

That 8 devices give the 1-device result is tested on the model, in
tests/test_stylegan_model.py.
"""

import logging
import os
import shutil

import jax
import numpy as np
import pytest
from PIL import Image

from configs import default
from jaxgan import families
from jaxgan.families import stylegan
from jaxgan.train import loop
from jaxgan.train import saved_runs
from tests.test_stylegan_model import tiny_config


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
    (dict(dtype='float16'), "config.dtype = 'float16' is not one of"),
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
    'dtype',
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


def test_a_run_resumes_exactly_and_sample_py_draws_its_figures(tmp_path, data_dir, caplog):
  straight = loop.train_and_evaluate(tiny_config(data_dir), str(tmp_path / 'straight'))
  # A copy of the straight run without its step-4 checkpoint is the run
  # stopped after step 2; resumed, it must give step 4 again.
  resumed = tmp_path / 'resumed'
  shutil.copytree(tmp_path / 'straight', resumed)
  shutil.rmtree(resumed / 'checkpoints' / '4')
  with caplog.at_level(logging.INFO):
    again = loop.train_and_evaluate(tiny_config(data_dir), str(resumed))
  assert 'Resuming from the checkpoint at step 2' in caplog.text
  assert int(again.step) == 4
  jax.tree.map(np.testing.assert_array_equal, host(again), host(straight))
  # What a plain resume of the networks alone would miss has moved.
  assert float(straight.path_length_mean) > 0
  assert float(np.linalg.norm(straight.w_avg)) > 0
  assert sorted(os.listdir(tmp_path / 'straight' / 'samples')) == [
    'step_0000002.png',
    'step_0000004.png',
  ]

  # sample.py's figures and walk of the run, 8x8 images 2 pixels apart.
  # Mixing: a corner and 5 sources, then 3 destinations (2 rows of middle
  # styles and 1 of fine at 8x8), each with its 5 mixes.
  workdir = str(tmp_path / 'straight')
  mixing = saved_runs.figure_checkpoint(workdir, figure='mixing', output=str(tmp_path / 'm.png'))
  assert Image.open(mixing).size == (6 * 10 + 2, 4 * 10 + 2)
  # Truncation: 4 seeds down, 6 values of psi across.
  sweep = saved_runs.figure_checkpoint(workdir, figure='truncation', output=str(tmp_path / 't.png'))
  assert Image.open(sweep).size == (6 * 10 + 2, 4 * 10 + 2)
  with pytest.raises(
    ValueError, match="--mode=grid: .* 'stylegan' run, whose figures are mixing, truncation"
  ):
    saved_runs.figure_checkpoint(workdir, figure='grid', output=str(tmp_path / 'g.png'))
  gif, strip = saved_runs.interpolate_checkpoint(
    workdir, output=str(tmp_path / 'walk.gif'), walks=2, num_keyframes=3, frames_per_keyframe=2
  )
  assert Image.open(strip).size == (6 * 10 + 2, 2 * 10 + 2)
  with Image.open(gif) as animation:
    assert animation.n_frames == 6
