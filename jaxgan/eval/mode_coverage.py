"""Measures a generator of 2-D points: the modes of a Gaussian mixture it covers.

The protocol of PacGAN's 2-D experiments (Lin et al. 2018): a sample is high
quality if it lies within 3 sigma of its nearest mode; a mode is captured if
at least one high-quality sample is nearest to it; the reverse KL compares
the histogram of every sample's nearest mode with the uniform distribution
over modes (`metrics.mode_statistics`).
"""

import numpy as np

from jaxgan.eval import metrics


class ModeCoverageEvaluator:
  """Computes mode statistics of 2-D samples of a known mixture.

  Attributes:
    reference: what samples are compared with, in words.
    feature_network: none; the statistics are of the points themselves.
    reads_labels: always False (the points carry no classes).
  """

  feature_network = 'none (the points themselves)'
  reads_labels = False

  def __init__(self, name: str, modes: np.ndarray, sigma: float, seed: int):
    """Describes the mixture.

    Args:
      name: the dataset's name, for the report.
      modes: (num_modes, 2) centres.
      sigma: the components' standard deviation.
      seed: seed of the real points `real_vs_real` draws.
    """
    self._modes = np.asarray(modes, np.float64)
    self._sigma = sigma
    self._seed = seed
    self.reference = f'the {len(self._modes)} modes of {name} (sigma {sigma})'

  def __call__(self, samples: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """Modes captured, fraction of high-quality samples and reverse KL of (N, 2) points."""
    del labels  # The points carry no classes.
    statistics = metrics.mode_statistics(
      np.asarray(samples, np.float64).reshape(len(samples), -1), self._modes, self._sigma
    )
    return {
      'modes': statistics.modes_captured,
      'high_quality': statistics.high_quality_fraction,
      'reverse_kl': statistics.reverse_kl,
    }

  def real_vs_real(self, num_samples: int) -> dict[str, float]:
    """The statistics of points drawn from the mixture itself: the floor."""
    rng = np.random.default_rng(self._seed)
    points = self._modes[rng.integers(len(self._modes), size=num_samples)]
    points = points + self._sigma * rng.standard_normal(points.shape)
    return self(points)
