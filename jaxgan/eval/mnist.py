"""Measures a generator: sample quality in the MNIST classifier's feature space.

One protocol, used by training (every `config.eval_every` steps) and by
`evaluate.py`: take the images a run's model draws for evaluation (fixed
inputs, inference mode; `jaxgan.train.evaluation`), embed them and the
10,000 real MNIST test digits with the committed classifier of
`jaxgan.eval.classifier`, and compute

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
import functools

import numpy as np

from jaxgan import data
from jaxgan.eval import classifier
from jaxgan.eval import metrics

FEATURE_NETWORK = (
  'jaxgan MNIST classifier (data/mnist_classifier/weights.msgpack), 128-d penultimate features'
)
IMAGE_SHAPE = (28, 28, 1)
# MNIST padded by 2 on every side (to 32x32, the size of networks that halve
# their input several times): measured on the central 28x28.
PADDED_SHAPE = (32, 32, 1)


def check_evaluable(image_shape: tuple[int, ...], field: str = 'config.eval_every') -> None:
  """Raises ValueError unless the images are MNIST-like (28x28, or padded to 32x32; gray).

  Args:
    image_shape: (H, W, C) of the images a model makes.
    field: the setting to name in the error.
  """
  if tuple(image_shape) not in (IMAGE_SHAPE, PADDED_SHAPE):
    raise ValueError(
      f'Sample-quality metrics use an MNIST classifier as their feature network, '
      f'so they need 28x28x1 images (or 32x32x1, MNIST padded by 2); this dataset has '
      f'{tuple(image_shape)}. Set {field}=0 to train without them.'
    )


# ITU-R 601-2 luma, the weights of PIL's convert('L').
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def to_gray(images: np.ndarray) -> np.ndarray:
  """Images in [-1, 1] as gray (N, H, W, 1): the luma of RGB ones, gray ones as they are.

  For digits read as RGB (a folder of MNIST PNGs, `--config.data.channels=3`).
  """
  if images.shape[-1] == 1:
    return images
  return (((images + 1) * 127.5) @ _LUMA)[..., None] / 127.5 - 1


def unpad(images: np.ndarray) -> np.ndarray:
  """The central 28x28 of (N, 32, 32, 1) images; 28x28 images as they are."""
  if images.shape[1:] == PADDED_SHAPE:
    margin = (PADDED_SHAPE[0] - IMAGE_SHAPE[0]) // 2
    return images[:, margin:-margin, margin:-margin]
  return images


# Neighbours of the precision and recall manifolds (Kynkäänniemi et al.: 3).
_NEIGHBOURS = 3


@dataclasses.dataclass(frozen=True)
class _Reference:
  features: np.ndarray
  mean: np.ndarray
  cov: np.ndarray
  # Each test digit's distance to its k-th nearest test digit: the real
  # manifold of precision, the same for every sample set scored.
  radii: np.ndarray


@functools.lru_cache(maxsize=4)
def _classifier_params(weights_hash: str) -> classifier.Params:
  """The committed classifier, loaded once per process and weights file."""
  del weights_hash  # Part of the cache key only.
  return classifier.load_classifier()


@functools.lru_cache(maxsize=4)
def _reference_set(weights_hash: str, data_dir: str | None) -> _Reference:
  """The test digits' features, Gaussian fit and k-NN radii, once per weights file and data.

  Embedding the 10,000 test digits and their neighbour radii take about 5 s
  on 2 cores; a process that evaluates several runs (a notebook, the tests)
  pays it once. The weights file's hash is part of the key, so that new
  weights are never scored against stale features.
  """
  test_images, _ = data.load_split(data.BUNDLED_MNIST, split='test', data_dir=data_dir)
  features, _ = classifier.classifier_outputs(_classifier_params(weights_hash), test_images)
  mean, cov = classifier.mnist_reference_statistics(data_dir)
  radii = metrics.knn_radii(features, k=_NEIGHBOURS)
  # Shared between evaluators through the cache: make accidental writes fail.
  for array in (features, radii):
    array.flags.writeable = False
  return _Reference(features=features, mean=mean, cov=cov, radii=radii)


# real_vs_real's floors by (weights hash, data_dir, num_samples, seed): they
# depend on nothing else, and training asks for them at every evaluation.
_FLOORS: dict[tuple, dict[str, float]] = {}


class MNISTEvaluator:
  """Computes the metrics of a set of 28x28x1 images against real test digits.

  Loading the classifier and embedding the test set happen once per process
  (the first evaluator made does it); each call then embeds only the images
  it is given.

  Attributes:
    reference: what samples are compared with, in words.
    feature_network: the network whose features the metrics use.
    reads_labels: whether it can tell the digit asked of a sample (true
      when the training data are MNIST, whose classes are the classifier's).
  """

  reference = '10,000 MNIST test digits'
  feature_network = FEATURE_NETWORK

  def __init__(self, *, data_dir: str | None = None, reads_labels: bool = False):
    self.reads_labels = reads_labels
    self._data_dir = data_dir
    self._weights_hash = classifier.file_sha256(classifier.WEIGHTS_PATH)
    self._params = _classifier_params(self._weights_hash)
    self._reference = _reference_set(self._weights_hash, data_dir)

  def __call__(self, images: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """Metrics of `images` ((N, 28, 28, 1) or padded (N, 32, 32, 1), in [-1, 1]).

    Digits in RGB are measured in gray (`to_gray`). Values outside [-1, 1]
    (from a generator without a tanh, as StyleGAN's) are clipped to it, as
    a saved picture clips them and as NVlabs' metrics read images.

    N >= 1000 for KID's subsets of 1000.

    With `labels`, the digit each image was asked to be, the figures gain
    `label_accuracy`: the fraction the classifier reads as that digit (a
    conditional G that ignores its label scores about 0.1).
    """
    images = to_gray(np.clip(np.asarray(images, np.float32), -1.0, 1.0)).astype(np.float32)
    check_evaluable(images.shape[1:], field='the images')
    images = unpad(images)
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
    precision_recall = metrics.precision_recall(
      reference.features, features, k=_NEIGHBOURS, real_radii=reference.radii
    )
    inception_score, _ = metrics.inception_score(probabilities)
    counts = np.bincount(probabilities.argmax(axis=-1), minlength=probabilities.shape[-1])
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
      'class_kl': metrics.kl_to_uniform(counts),
    }

  def real_vs_real(self, num_samples: int, seed: int = 0) -> dict[str, float]:
    """The metrics of `num_samples` real training digits: the floor.

    Computed once per process, data and sample count: training asks for it
    at every evaluation.
    """
    key = (self._weights_hash, self._data_dir, num_samples, seed)
    if key not in _FLOORS:
      train_images, train_labels = data.load_split(
        data.BUNDLED_MNIST, split='train', data_dir=self._data_dir
      )
      chosen = np.sort(
        np.random.default_rng(seed).choice(len(train_images), num_samples, replace=False)
      )
      # With their true labels, label_accuracy is the classifier's own.
      _FLOORS[key] = self(train_images[chosen], train_labels[chosen])
    return dict(_FLOORS[key])
