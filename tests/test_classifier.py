"""Tests of the committed MNIST classifier and the outputs the metrics use."""

import time

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.eval import classifier
from jaxgan import data
from jaxgan.train import compilation


@pytest.fixture(scope='module')
def params():
  return classifier.load_classifier()


@pytest.fixture(scope='module')
def test_split(data_dir):
  return data.load_split(data.BUNDLED_MNIST, split='test', data_dir=data_dir)


def test_architecture_and_parameter_count():
  model = classifier.MNISTClassifier()
  variables = jax.eval_shape(
    lambda: model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)), train=False)
  )
  shapes = jax.tree.map(lambda x: x.shape, variables['params'])
  assert shapes['conv1']['kernel'] == (3, 3, 1, 32)
  assert shapes['conv2']['kernel'] == (3, 3, 32, 64)
  assert shapes['dense1']['kernel'] == (12 * 12 * 64, 128)
  assert shapes['logits']['kernel'] == (128, 10)
  assert sum(x.size for x in jax.tree.leaves(variables)) == 1_199_882


def test_committed_weights_reach_99_percent(params, test_split):
  images, labels = test_split
  assert len(images) == 10_000
  # The bar of the Keras mnist_cnn example; fails if the weights regress.
  assert classifier.evaluate_accuracy(params, images, labels) >= 0.99


def test_output_shapes_and_probabilities(params, test_split):
  images = test_split[0][:250]
  # A batch size that does not divide N exercises the padded last batch.
  features, probabilities = classifier.classifier_outputs(params, images, batch_size=100)
  chex.assert_shape(features, (250, 128))
  chex.assert_shape(probabilities, (250, 10))
  chex.assert_tree_all_finite((features, probabilities))
  assert np.all(features >= 0)  # After the ReLU.
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
  # Padding must not change the real rows: same answer from one full batch.
  features_one_batch, _ = classifier.classifier_outputs(params, images, batch_size=250)
  np.testing.assert_allclose(features, features_one_batch, rtol=1e-5, atol=1e-5)


def test_features_method_matches_call(params, test_split):
  images = jnp.asarray(test_split[0][:8])
  model = classifier.MNISTClassifier()
  logits, features = model.apply({'params': params}, images, train=False, return_features=True)
  chex.assert_trees_all_close(
    features, model.apply({'params': params}, images, method=classifier.MNISTClassifier.features)
  )
  chex.assert_trees_all_close(logits, model.apply({'params': params}, images, train=False))


def test_dropout_only_in_training(params, test_split):
  images = jnp.asarray(test_split[0][:8])
  model = classifier.MNISTClassifier()

  @jax.jit  # One compilation instead of op-by-op dispatch of every layer.
  def apply(seed):
    return model.apply(
      {'params': params}, images, train=True, rngs={'dropout': jax.random.key(seed)}
    )

  assert not np.allclose(apply(0), apply(1))


def test_reference_statistics_cached(data_dir):
  classifier._reference_statistics.cache_clear()
  mean, cov = classifier.mnist_reference_statistics(data_dir)
  start = time.perf_counter()
  mean_again, cov_again = classifier.mnist_reference_statistics(data_dir)
  assert time.perf_counter() - start < 0.5  # Memory cache: only the weights are hashed.
  assert mean.dtype == cov.dtype == np.float64
  chex.assert_shape((mean, cov), ((128,), (128, 128)))
  np.testing.assert_array_equal(mean, mean_again)
  np.testing.assert_array_equal(cov, cov_again)
  np.testing.assert_allclose(cov, cov.T)
  # A new process would find the disk cache: the same values, no forward pass.
  classifier._reference_statistics.cache_clear()
  start = time.perf_counter()
  mean_disk, cov_disk = classifier.mnist_reference_statistics(data_dir)
  assert time.perf_counter() - start < 0.5
  np.testing.assert_array_equal(mean, mean_disk)
  np.testing.assert_array_equal(cov, cov_disk)


def test_missing_weights_name_the_command(tmp_path):
  with pytest.raises(FileNotFoundError, match='python train_classifier.py'):
    classifier.load_classifier(tmp_path / 'weights.msgpack')


def test_weights_round_trip(tmp_path):
  model = classifier.MNISTClassifier()
  params = jax.jit(
    lambda: model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)), train=False)['params']
  )()
  path = tmp_path / 'weights.msgpack'
  classifier.save_classifier(params, path)
  restored = classifier.load_classifier(path)
  chex.assert_trees_all_equal_dtypes(restored, params)
  # Stored in float16: equal to that rounding.
  chex.assert_trees_all_close(restored, params, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize('computation', ['outputs', 'accuracy'])
def test_computed_with_the_options_of_jaxgans_train_calls(params, monkeypatch, computation):
  # As a train call is (compilation.jit): on jax 0.7.2 without XNNPACK,
  # which computes wrong values now and then there. An option no XLA knows
  # shows that the options reach the compilation.
  monkeypatch.setattr(compilation, 'compiler_options', lambda: {'xla_jaxgan_no_such_option': 1})
  classifier._compiled.cache_clear()
  images = np.zeros((2, 28, 28, 1), np.float32)
  try:
    with pytest.raises(Exception, match='xla_jaxgan_no_such_option'):
      if computation == 'outputs':
        classifier.classifier_outputs(params, images)
      else:
        classifier.evaluate_accuracy(params, images, np.zeros(2, np.int32))
  finally:
    classifier._compiled.cache_clear()
