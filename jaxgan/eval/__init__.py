"""Measuring generators: metrics, divergences, and an evaluator for each kind of data.

An evaluator scores a set of samples against real data and says what it
compared them with (`Evaluator`). Which one a run uses follows from its
data (`make_evaluator`): MNIST-like images are measured in the features of
jaxgan's MNIST classifier (`mnist.MNISTEvaluator`), points of the 2-D
mixtures by the modes they cover (`mode_coverage.ModeCoverageEvaluator`).
"""

from typing import Protocol

import numpy as np

from jaxgan import data
from jaxgan.eval import mnist
from jaxgan.eval import mode_coverage

# Datasets whose classes are the MNIST classifier's digits.
_DIGIT_DATASETS = (data.BUNDLED_MNIST, 'mnist', data.MNIST2TEXTURED)


class Evaluator(Protocol):
  """Scores samples against real data.

  Attributes:
    reference: what samples are compared with, in words.
    feature_network: the features the metrics are computed in.
    reads_labels: whether `__call__` can score the class asked of a sample.
  """

  reference: str
  feature_network: str
  reads_labels: bool

  def __call__(self, samples: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """The metrics of `samples` (with `labels`, the class asked of each)."""

  def real_vs_real(self, num_samples: int) -> dict[str, float]:
    """The same metrics for real data in place of samples: the floor."""


def check_evaluable(info: data.DatasetInfo, *, field: str = 'config.eval_every') -> None:
  """Raises ValueError, naming `field`, if no evaluator measures samples of this data."""
  if info.feature == 'point' and info.source in data.mixtures.MIXTURES:
    return
  if info.feature == 'image':
    shape = info.shape
    if info.source in _DIGIT_DATASETS and shape[-1] == 3:
      shape = (*shape[:-1], 1)  # Digits read as RGB are measured in gray.
    mnist.check_evaluable(shape, field=field)
    return
  raise ValueError(
    f'No evaluator measures samples of {info.source!r}; set {field}=0 to train without one.'
  )


def make_evaluator(info: data.DatasetInfo, *, data_dir: str | None = None) -> Evaluator:
  """The evaluator for samples of a dataset like `info`'s (`check_evaluable` first)."""
  check_evaluable(info)
  if info.feature == 'point':
    mixture = data.mixtures.MIXTURES[info.source]
    return mode_coverage.ModeCoverageEvaluator(
      info.source, mixture.modes, mixture.sigma, seed=mixture.seed + 1
    )
  return mnist.MNISTEvaluator(data_dir=data_dir, reads_labels=info.source in _DIGIT_DATASETS)
