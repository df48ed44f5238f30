"""Tests of the evaluation protocol on real digits and on a trained run."""

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest

from configs import gan as gan_config
from jaxgan import data
from jaxgan.eval import evaluator as evaluation
from jaxgan.train import loop as trainer


@pytest.fixture(scope='module')
def evaluator(data_dir):
  return evaluation.MNISTEvaluator(data_dir=data_dir)


def test_only_mnist_like_images_are_evaluable():
  evaluation.check_evaluable((28, 28, 1))
  with pytest.raises(ValueError, match='config.eval_every=0'):
    evaluation.check_evaluable((32, 32, 3))


def test_generated_images_depend_only_on_the_seed():
  sample = lambda z: jnp.tanh(z[:, :4].reshape(-1, 2, 2, 1))
  first = evaluation.generate_images(sample, num_samples=2500, latent_dim=8, seed=3)
  again = evaluation.generate_images(sample, num_samples=2500, latent_dim=8, seed=3)
  other = evaluation.generate_images(sample, num_samples=2500, latent_dim=8, seed=4)
  assert first.shape == (2500, 2, 2, 1)
  np.testing.assert_array_equal(first, again)
  assert np.any(first != other)


def test_real_digits_score_near_the_floor_and_noise_far_from_it(evaluator):
  floor = evaluator.real_vs_real(2000)
  assert floor['classes_covered'] == 10
  assert floor['class_kl'] < 0.01
  assert floor['precision'] > 0.6 and floor['recall'] > 0.6
  assert 9.0 < floor['inception_score'] <= 10.0
  noise = np.random.default_rng(0).uniform(-1, 1, (2000, 28, 28, 1)).astype(np.float32)
  scores = evaluator(noise)
  assert scores['fid'] > 20 * max(floor['fid'], 0.5)
  assert scores['kid'] > 20 * max(floor['kid'], 1e-3)
  # Noise lands on one spot of the feature space, which can lie inside the
  # real manifold (precision near 1); none of the real digits is near it.
  assert scores['recall'] < 0.05
  assert scores['inception_score'] < 2.0


def test_one_digit_is_seen_as_mode_collapse(evaluator, data_dir):
  images, labels = data.load_split('bundled_mnist', split='test', data_dir=data_dir)
  sevens = images[labels == 7][:1000]
  scores = evaluator(sevens)
  assert scores['classes_covered'] < 10  # A few sevens are misread.
  assert scores['class_kl'] > 0.9 * np.log(10)
  assert scores['inception_score'] < 1.5
  assert scores['recall'] < 0.3


def read_metrics(workdir):
  with open(os.path.join(workdir, 'metrics.json')) as f:
    return json.load(f)


def test_training_and_evaluate_checkpoint_write_metrics_json(tmp_path, data_dir):
  config = gan_config.get_config()
  config.update(
    data_dir=data_dir,
    num_steps=20,
    log_every=10,
    sample_every=20,
    checkpoint_every=20,
    eval_every=20,
    eval_samples=1000,
  )
  workdir = str(tmp_path)
  trainer.train_and_evaluate(config, workdir)
  during_training = read_metrics(workdir)
  assert during_training['step'] == 20 and during_training['checkpoint'] is None

  report = trainer.evaluate_checkpoint(workdir)
  written = read_metrics(workdir)
  assert written['step'] == 20 and written['num_samples'] == 1000
  assert written['checkpoint'].endswith(os.path.join('checkpoints', '20'))
  assert 'MNIST classifier' in written['feature_network']
  assert written['metrics'] == report['metrics']
  # The restored generator draws the same samples from the same noise.
  assert written['metrics'] == during_training['metrics']
  # Twenty steps in, G is far from the data, and further than real digits.
  assert written['metrics']['fid'] > 10 * written['real_vs_real']['fid']


def test_evaluate_checkpoint_needs_a_run(tmp_path):
  with pytest.raises(ValueError, match='not a workdir that train.py wrote'):
    trainer.evaluate_checkpoint(str(tmp_path))
