"""Tests of the MNIST evaluator on real digits, noise and one digit alone."""

import numpy as np
import pytest

from jaxgan import data
from jaxgan.eval import mnist


@pytest.fixture(scope='module')
def evaluator(data_dir):
  return mnist.MNISTEvaluator(data_dir=data_dir, reads_labels=True)


def test_only_mnist_like_images_are_evaluable():
  mnist.check_evaluable((28, 28, 1))
  mnist.check_evaluable((32, 32, 1))
  for shape in ((32, 32, 3), (30, 30, 1)):
    with pytest.raises(ValueError, match='config.eval_every=0'):
      mnist.check_evaluable(shape)


def test_padded_digits_are_measured_on_their_centre():
  images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
  np.testing.assert_array_equal(mnist.unpad(images), images[:, 2:30, 2:30])
  np.testing.assert_array_equal(mnist.unpad(images[:, 2:30, 2:30]), images[:, 2:30, 2:30])


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


def test_label_accuracy_reads_the_digit_asked_for(evaluator, data_dir):
  images, labels = data.load_split('bundled_mnist', split='test', data_dir=data_dir)
  images, labels = images[:500], labels[:500]
  assert evaluator(images, labels)['label_accuracy'] > 0.98
  shuffled = np.random.default_rng(0).permutation(labels)
  assert evaluator(images, shuffled)['label_accuracy'] < 0.2


def test_values_beyond_the_range_are_measured_as_a_picture_shows_them(evaluator, data_dir):
  # A generator without a tanh (StyleGAN's) overshoots: a background at -4
  # is the same black in a saved picture, and must measure the same.
  images, labels = data.load_split('bundled_mnist', split='test', data_dir=data_dir)
  images, labels = images[:1000], labels[:1000]
  assert np.any(images == -1.0)
  overshot = np.where(images == -1.0, -4.0, images)
  assert evaluator(overshot, labels) == evaluator(images, labels)
