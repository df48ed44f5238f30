"""Tests of the toy 2-D family: PacGAN's networks on the mixtures, through the loop."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from benchmarks.configs import gan_2d
from jaxgan import data
from jaxgan.families import toy2d
from jaxgan.train import loop


def small_config(**overrides):
  config = gan_2d.get_config()
  config.update(
    dict(
      num_steps=20,
      steps_per_call=10,
      log_every=10,
      sample_every=20,
      checkpoint_every=20,
      eval_every=20,
      eval_samples=500,
      num_samples=200,
    ),
    **overrides,
  )
  return config


def test_trains_through_the_loop_and_counts_modes(tmp_path):
  workdir = str(tmp_path)
  loop.train_and_evaluate(small_config(), workdir)
  with open(os.path.join(workdir, 'metrics.json')) as f:
    report = json.load(f)
  assert report['step'] == 20
  assert set(report['metrics']) == {'modes', 'high_quality', 'reverse_kl'}
  # The floor: points of the ring itself cover its 8 modes.
  assert report['real_vs_real']['modes'] == 8
  plot = np.asarray(Image.open(os.path.join(workdir, 'samples', 'step_0000020.png')))
  assert plot.shape == (600, 600, 3)
  # Red samples, grey data and blue modes are all drawn.
  for colour in ((220, 30, 30), (150, 150, 150), (30, 60, 220)):
    assert np.all(plot == colour, axis=-1).any(), colour


def test_images_are_refused():
  info = data.DatasetInfo('bundled_mnist', (28, 28, 1), None, 60_000, 'image')
  with pytest.raises(ValueError, match='toy2d family trains on 2-D points'):
    toy2d.build(small_config(), {'real': info})
