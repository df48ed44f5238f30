"""Measures a generator: sample quality in the MNIST classifier's feature space.

One protocol, used by training (every `config.eval_every` steps) and by
`evaluate.py`: draw `num_samples` images from G (fixed noise seed, BatchNorm
in inference mode), embed them and the 10,000 real MNIST test digits with the
committed classifier of `jaxgan.classifier`, and compute

- `fid`: Fréchet distance between Gaussian fits of the 128-d features;
- `kid`: unbiased MMD^2 with the cubic kernel, mean over 100 subsets of 1000;
- `precision`, `recall`: Kynkäänniemi et al. 2019, k = 3;
- `inception_score`: exp E KL(p(y|x) || p(y)) with the classifier's p(y|x);
- `classes_covered`, `class_kl`: how many of the 10 digits the classifier
  sees among the samples, and KL(histogram of predicted digits || uniform).

`real_vs_real` runs the same protocol on real training digits in place of
samples: the floor that a perfect generator would reach.
"""

import dataclasses
import json
import os
from typing import Callable

import jax
import numpy as np

from jaxgan.eval import classifier
from jaxgan import data
from jaxgan.eval import divergences
from jaxgan.eval import metrics

FEATURE_NETWORK = (
  'jaxgan MNIST classifier (data/mnist_classifier/weights.msgpack), 128-d penultimate features'
)
IMAGE_SHAPE = (28, 28, 1)


def check_evaluable(image_shape: tuple[int, ...], field: str = 'config.eval_every') -> None:
  """Raises ValueError unless the images are MNIST-like (28x28, one channel).

  Args:
    image_shape: (H, W, C) of the images a model makes.
    field: the setting to name in the error.
  """
  if tuple(image_shape) != IMAGE_SHAPE:
    raise ValueError(
      f'Sample-quality metrics use an MNIST classifier as their feature network, '
      f'so they need 28x28x1 images; this dataset has {tuple(image_shape)}. Set '
      f'{field}=0 to train without them.'
    )


def balanced_labels(num_samples: int, num_classes: int) -> np.ndarray:
  """Labels 0, 1, ..., num_classes - 1, 0, 1, ...: every class as often as can be."""
  return (np.arange(num_samples) % num_classes).astype(np.int32)


def generate_images(
  sample: Callable[..., jax.Array],
  *,
  num_samples: int,
  latent_dim: int,
  seed: int,
  batch_size: int = 1000,
  labels: np.ndarray | None = None,
) -> np.ndarray:
  """Draws images from G in batches from a fixed noise seed.

  Args:
    sample: maps (batch, latent_dim) noise to images in [-1, 1]; with
      `labels`, called as `sample(z, labels)`.
    num_samples: how many images.
    latent_dim: size of z.
    seed: seed of the noise; the same seed gives the same z at every call.
    batch_size: images per call of `sample`.
    labels: for a conditional G, the class of each image, shape
      (num_samples,).

  Returns:
    float32 (num_samples, H, W, C).
  """
  key = jax.random.key(seed)
  batches = []
  for index, start in enumerate(range(0, num_samples, batch_size)):
    size = min(batch_size, num_samples - start)
    z = jax.random.normal(jax.random.fold_in(key, index), (size, latent_dim))
    images = sample(z) if labels is None else sample(z, labels[start : start + size])
    batches.append(np.asarray(images, np.float32))
  return np.concatenate(batches)


@dataclasses.dataclass(frozen=True)
class _Reference:
  features: np.ndarray
  mean: np.ndarray
  cov: np.ndarray


class MNISTEvaluator:
  """Computes the metrics of a set of 28x28x1 images against real test digits.

  Loading the classifier and embedding the test set happen once, when the
  evaluator is made; each call then embeds only the images it is given.
  """

  def __init__(self, *, data_dir: str | None = None):
    self._data_dir = data_dir
    self._floors: dict[tuple[int, int], dict[str, float]] = {}
    self._params = classifier.load_classifier()
    test_images, _ = data.load_split(data.BUNDLED_MNIST, split='test', data_dir=data_dir)
    features, _ = classifier.classifier_outputs(self._params, test_images)
    mean, cov = classifier.mnist_reference_statistics(data_dir)
    self._reference = _Reference(features=features, mean=mean, cov=cov)

  def __call__(self, images: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """Metrics of `images` ((N, 28, 28, 1) in [-1, 1]; N >= 1000 for KID).

    With `labels`, the digit each image was asked to be, the figures gain
    `label_accuracy`: the fraction the classifier reads as that digit (a
    conditional G that ignores its label scores about 0.1).
    """
    check_evaluable(images.shape[1:], field='the images')
    features, probabilities = classifier.classifier_outputs(self._params, images)
    mean, cov = metrics.gaussian_statistics(features)
    reference = self._reference
    kid, _ = metrics.kernel_inception_distance(
      features,
      reference.features,
      num_subsets=100,
      subset_size=min(1000, len(features), len(reference.features)),
      rng=0,
    )
    precision_recall = metrics.precision_recall(reference.features, features, k=3)
    inception_score, _ = metrics.inception_score(probabilities)
    counts = np.bincount(probabilities.argmax(axis=-1), minlength=probabilities.shape[-1])
    uniform = np.full(len(counts), 1 / len(counts))
    label_accuracy = {}
    if labels is not None:
      predicted = probabilities.argmax(axis=-1)
      label_accuracy['label_accuracy'] = float(np.mean(predicted == np.asarray(labels)))
    return {
      **label_accuracy,
      'fid': float(metrics.frechet_distance(mean, cov, reference.mean, reference.cov)),
      'kid': float(kid),
      'precision': float(precision_recall.precision),
      'recall': float(precision_recall.recall),
      'inception_score': float(inception_score),
      'classes_covered': int(np.count_nonzero(counts)),
      'class_kl': float(divergences.kl_divergence(counts / counts.sum(), uniform)),
    }

  def real_vs_real(self, num_samples: int, seed: int = 0) -> dict[str, float]:
    """The metrics of `num_samples` real training digits: the floor.

    Computed once per evaluator and sample count: training asks for it at
    every evaluation.
    """
    if (num_samples, seed) not in self._floors:
      train_images, train_labels = data.load_split(
        data.BUNDLED_MNIST, split='train', data_dir=self._data_dir
      )
      chosen = np.sort(
        np.random.default_rng(seed).choice(len(train_images), num_samples, replace=False)
      )
      # With their true labels, label_accuracy is the classifier's own.
      self._floors[num_samples, seed] = self(train_images[chosen], train_labels[chosen])
    return self._floors[num_samples, seed]


def write_report(
  path: str,
  *,
  step: int,
  checkpoint: str | None,
  num_samples: int,
  results: dict[str, float],
  floor: dict[str, float],
  generator: str = 'G with BatchNorm running statistics',
) -> None:
  """Writes metrics.json: the figures, and what produced them."""
  report = {
    'step': step,
    'checkpoint': checkpoint,
    'generator': generator,
    'num_samples': num_samples,
    'reference': '10,000 MNIST test digits',
    'feature_network': FEATURE_NETWORK,
    'metrics': results,
    'real_vs_real': floor,
  }
  temporary = path + '.tmp'
  with open(temporary, 'w') as f:
    json.dump(report, f, indent=2)
  os.replace(temporary, path)
