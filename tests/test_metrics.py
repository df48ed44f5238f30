"""Tests for jaxgan.eval.metrics, each against a hand-computed or direct answer."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial
import scipy.stats

from jaxgan.data import mixtures
from jaxgan.eval import metrics


def _rng(seed=0):
  return np.random.default_rng(seed)


def _random_cov(rng, dim):
  a = rng.standard_normal((dim, dim))
  return a @ a.T / dim + 0.1 * np.eye(dim)


# ---------------------------------------------------------------------------
# Frechet distance.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('dim, seed', [(1, 0), (4, 1), (16, 2), (64, 3)])
def test_frechet_distance_matches_sqrtm_reference(dim, seed):
  rng = _rng(seed)
  mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
  cov1, cov2 = _random_cov(rng, dim), _random_cov(rng, dim)
  covmean = scipy.linalg.sqrtm(cov1 @ cov2).real
  expected = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean)
  got = metrics.frechet_distance(mu1, cov1, mu2, cov2)
  np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-9)


def test_frechet_distance_diagonal_closed_form():
  rng = _rng(4)
  a, b = rng.uniform(0.1, 3.0, 10), rng.uniform(0.1, 3.0, 10)
  mu1, mu2 = rng.standard_normal(10), rng.standard_normal(10)
  # Diagonal covariances commute, so Tr(A + B - 2 sqrt(AB)) is
  # sum (sqrt(a) - sqrt(b))^2.
  expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
  got = metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
  np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize('num_samples, dim', [(500, 8), (20, 64)])
def test_frechet_distance_identical_sets_is_zero(num_samples, dim):
  # (20, 64): fewer samples than dimensions, so the covariance is singular;
  # the eigenvalue route must still give 0, not NaN or a complex number.
  x = _rng(5).standard_normal((num_samples, dim))
  got = metrics.frechet_distance_from_features(x, x)
  assert np.isfinite(got)
  assert 0.0 <= got < 1e-8


def test_frechet_distance_from_features_uses_sample_statistics():
  rng = _rng(6)
  x = rng.standard_normal((300, 5))
  y = 2.0 * rng.standard_normal((200, 5)) + 1.0
  mu1, cov1 = metrics.gaussian_statistics(x)
  assert mu1.dtype == np.float64 and cov1.shape == (5, 5)
  np.testing.assert_allclose(cov1, np.cov(x.T))
  mu2, cov2 = metrics.gaussian_statistics(y)
  np.testing.assert_allclose(
    metrics.frechet_distance_from_features(x, y), metrics.frechet_distance(mu1, cov1, mu2, cov2)
  )


# ---------------------------------------------------------------------------
# KID.
# ---------------------------------------------------------------------------


def test_kid_same_distribution_near_zero_and_shift_positive():
  rng = _rng(7)
  x, y = rng.standard_normal((1000, 16)), rng.standard_normal((1000, 16))
  same_mean, same_std = metrics.kernel_inception_distance(
    x, y, num_subsets=20, subset_size=200, rng=0
  )
  shifted_mean, _ = metrics.kernel_inception_distance(
    x, y + 0.5, num_subsets=20, subset_size=200, rng=0
  )
  assert abs(same_mean) < 2 * same_std
  assert shifted_mean > 10 * same_std and shifted_mean > 0.05


def test_mmd_is_unbiased():
  # Averaged over many small draws from one distribution, the U-statistic is
  # centred on 0, while the V-statistic (diagonal kept) sits above it.
  rng = _rng(8)
  size, dim, draws = 10, 4, 2000
  unbiased, biased = [], []
  for _ in range(draws):
    x, y = rng.standard_normal((size, dim)), rng.standard_normal((size, dim))
    unbiased.append(metrics.mmd2_unbiased(x, y))
    k_xx, k_yy = metrics.polynomial_kernel(x, x), metrics.polynomial_kernel(y, y)
    biased.append(k_xx.mean() + k_yy.mean() - 2 * metrics.polynomial_kernel(x, y).mean())
  unbiased, biased = np.array(unbiased), np.array(biased)
  standard_error = unbiased.std() / math.sqrt(draws)
  assert abs(unbiased.mean()) < 3 * standard_error
  assert biased.mean() > 10 * standard_error


@pytest.mark.parametrize(
  'size1, size2, subset_size',
  [(40, 40, 50), (40, 300, 100), (300, 40, 100), (300, 200, 100)],
  ids=['both-whole', 'first-whole', 'second-whole', 'neither-whole'],
)
def test_kid_is_the_mean_of_mmd_over_the_subsets_it_draws(size1, size2, subset_size):
  # KID computes a set drawn whole in every subset once; its estimates must
  # be those of MMD^2 on each drawn pair of subsets, drawn in the same order.
  x = _rng(11).standard_normal((size1, 6))
  y = _rng(12).standard_normal((size2, 6)) + 0.3
  draws = np.random.default_rng(5)
  size = min(subset_size, size1, size2)
  estimates = []
  for _ in range(7):
    rows_x = draws.choice(size1, size, replace=False)
    rows_y = draws.choice(size2, size, replace=False)
    estimates.append(metrics.mmd2_unbiased(x[rows_x], y[rows_y]))
  mean, std = metrics.kernel_inception_distance(x, y, num_subsets=7, subset_size=subset_size, rng=5)
  # atol for the both-whole case, whose spread is 0 but for rounding.
  np.testing.assert_allclose(
    [mean, std], [np.mean(estimates), np.std(estimates)], rtol=1e-9, atol=1e-12
  )
  if size < max(size1, size2):
    assert std > 0  # The subsets differ: the check above compares seven estimates.


def test_kid_seed_reproducible():
  x = _rng(9).standard_normal((100, 3))
  y = _rng(10).standard_normal((100, 3))
  a = metrics.kernel_inception_distance(x, y, num_subsets=5, subset_size=50, rng=3)
  b = metrics.kernel_inception_distance(
    x, y, num_subsets=5, subset_size=50, rng=np.random.default_rng(3)
  )
  assert a == b


# ---------------------------------------------------------------------------
# Precision and recall.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('batch_size', [7, 1000])
def test_precision_recall_identical_and_disjoint(batch_size):
  x = _rng(11).standard_normal((300, 8))
  same = metrics.precision_recall(x, x.copy(), batch_size=batch_size)
  assert same == metrics.PrecisionRecall(1.0, 1.0)
  apart = metrics.precision_recall(x, x + 100.0, batch_size=batch_size)
  assert apart == metrics.PrecisionRecall(0.0, 0.0)


def test_precision_recall_half_collapsed_generator():
  # Generated: copies of half the real points plus far-away points, so
  # precision is exactly 1/2; recall is at most the covered real fraction.
  real = _rng(12).standard_normal((200, 4))
  generated = np.concatenate([real[:100], real[:100] + 50.0])
  got = metrics.precision_recall(real, generated, k=3)
  assert got.precision == 0.5
  assert 0.5 <= got.recall < 1.0


@pytest.mark.parametrize('batch_size', [7, 1000])
def test_precision_recall_against_every_distance(batch_size):
  # Sets of different sizes and spreads, so that the two figures differ;
  # against the definition computed from whole distance matrices.
  real = _rng(13).standard_normal((120, 5))
  generated = 0.8 * _rng(14).standard_normal((90, 5)) + 1.0
  k = 3

  def radii(x):
    return np.sort(scipy.spatial.distance.cdist(x, x), axis=1)[:, k]

  cross = scipy.spatial.distance.cdist(generated, real)
  precision = np.mean(np.any(cross <= radii(real)[None, :], axis=1))
  recall = np.mean(np.any(cross.T <= radii(generated)[None, :], axis=1))
  assert 0.1 < recall < precision < 1.0  # Distinct: a swap would be seen.
  got = metrics.precision_recall(real, generated, k=k, batch_size=batch_size)
  assert got == metrics.PrecisionRecall(precision, recall)


def test_knn_radii_against_sort():
  x = _rng(13).standard_normal((50, 3))
  distances = np.linalg.norm(x[:, None] - x[None], axis=-1)
  expected = np.sort(distances, axis=1)[:, 3]  # Column 0 is the point itself.
  np.testing.assert_allclose(metrics.knn_radii(x, k=3, batch_size=8), expected, atol=1e-7)


# ---------------------------------------------------------------------------
# Inception score.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('num_classes, num_splits', [(10, 1), (10, 5), (1000, 2)])
def test_inception_score_confident_and_spread(num_classes, num_splits):
  # One-hot predictions cycling through the classes: KL(p(y|x) || p(y)) is
  # log C for every x, so the score is C in every split.
  num_samples = 2 * num_splits * num_classes
  probabilities = np.eye(num_classes)[np.arange(num_samples) % num_classes]
  mean, std = metrics.inception_score(probabilities, num_splits=num_splits)
  np.testing.assert_allclose(mean, num_classes, rtol=1e-12)
  assert std < 1e-9


@pytest.mark.parametrize('row', [[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
def test_inception_score_constant_predictions_is_one(row):
  mean, _ = metrics.inception_score(np.tile(row, (60, 1)), num_splits=3)
  np.testing.assert_allclose(mean, 1.0, rtol=1e-12)


# ---------------------------------------------------------------------------
# Parzen window.
# ---------------------------------------------------------------------------


def _direct_parzen(samples, points, sigma):
  """Float64 log of the mean of Gaussian densities, no logsumexp."""
  diff = points[:, None, :] - samples[None, :, :]
  densities = np.prod(scipy.stats.norm.pdf(diff, scale=sigma), axis=-1)
  return np.log(densities.mean(axis=1))


@pytest.mark.parametrize('sigma, batch_size', [(0.3, 4), (1.0, 100), (2.0, 1)])
def test_parzen_matches_direct_computation(sigma, batch_size):
  rng = _rng(14)
  samples, points = rng.standard_normal((40, 3)), rng.standard_normal((25, 3))
  got = metrics.parzen_log_likelihood(samples, points, sigma, batch_size=batch_size)
  np.testing.assert_allclose(got, _direct_parzen(samples, points, sigma), rtol=1e-10)


def test_parzen_is_finite_where_direct_underflows():
  # Points 30 sigma from every sample: every density is exp(-450) < 1e-195
  # per dimension, which the direct product underflows to 0.
  samples = np.zeros((10, 2))
  points = np.full((3, 2), 3.0)
  got = metrics.parzen_log_likelihood(samples, points, 0.1)
  expected = -np.sum(points[0] ** 2) / (2 * 0.01) - math.log(2 * math.pi * 0.01)
  np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_parzen_sigma_selection_and_evaluation():
  rng = _rng(15)
  samples = rng.standard_normal((500, 2))
  validation, test = rng.standard_normal((100, 2)), rng.standard_normal((100, 2))
  sigmas = np.logspace(-1, 1, 7)  # Small enough grids underflow the direct form.
  best, means = metrics.select_parzen_sigma(samples, validation, sigmas)
  direct = [_direct_parzen(samples, validation, s).mean() for s in sigmas]
  np.testing.assert_allclose(means, direct, rtol=1e-10)
  assert best == sigmas[np.argmax(direct)]
  sigma, mean, stderr = metrics.parzen_evaluation(samples, validation, test, sigmas)
  direct_test = _direct_parzen(samples, test, sigma)
  assert sigma == best
  np.testing.assert_allclose(mean, direct_test.mean(), rtol=1e-10)
  np.testing.assert_allclose(stderr, direct_test.std() / 10.0, rtol=1e-10)


# ---------------------------------------------------------------------------
# Mode collapse.
# ---------------------------------------------------------------------------


def test_mode_layouts():
  ring = mixtures.ring_modes()
  assert ring.shape == (8, 2)
  np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0)
  grid = mixtures.grid_modes()
  assert grid.shape == (25, 2)
  assert set(grid.ravel()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
  assert len({tuple(p) for p in grid}) == 25


_RING_SIGMA = 0.01


@pytest.mark.parametrize(
  'name, samples, expected',
  [
    # Every mode hit equally, all within 3 sigma.
    (
      'all_modes',
      np.repeat(mixtures.ring_modes(), 5, axis=0) + 0.02,
      metrics.ModeStatistics(8, 1.0, 0.0),
    ),
    # Complete collapse onto one mode: KL(delta || uniform) = log 8.
    (
      'one_mode',
      np.tile(mixtures.ring_modes()[:1], (40, 1)),
      metrics.ModeStatistics(1, 1.0, math.log(8)),
    ),
    # Four modes, each with 10 on-mode samples and 10 samples half a unit
    # outward (50 sigma, so low quality but still nearest that mode): half
    # the samples are good, and the histogram is uniform on 4 of 8 modes.
    (
      'off_mode',
      np.concatenate(
        [
          np.repeat(mixtures.ring_modes()[::2], 10, axis=0),
          1.5 * np.repeat(mixtures.ring_modes()[::2], 10, axis=0),
        ]
      ),
      metrics.ModeStatistics(4, 0.5, math.log(2)),
    ),
    # Only off-mode samples: nothing captured.
    ('all_off_mode', 1.5 * mixtures.ring_modes(), metrics.ModeStatistics(0, 0.0, 0.0)),
  ],
)
def test_mode_statistics_known_answers(name, samples, expected):
  del name
  got = metrics.mode_statistics(samples, mixtures.ring_modes(), _RING_SIGMA)
  assert got.modes_captured == expected.modes_captured
  np.testing.assert_allclose(got.high_quality_fraction, expected.high_quality_fraction)
  np.testing.assert_allclose(got.reverse_kl, expected.reverse_kl, atol=1e-12)


def test_mode_statistics_true_grid_mixture():
  # Samples of the true mixture: every mode captured, the high-quality
  # fraction is P(chi^2_2 <= 9) = 1 - exp(-4.5), and the KL is near 0.
  sigma = 0.05
  samples = mixtures.sample_mixture(16, mixtures.grid_modes(), sigma, 20_000)
  got = metrics.mode_statistics(samples, mixtures.grid_modes(), sigma)
  assert got.modes_captured == 25
  np.testing.assert_allclose(got.high_quality_fraction, 1 - math.exp(-4.5), atol=3e-3)
  assert 0.0 <= got.reverse_kl < 2e-3


@pytest.mark.parametrize(
  'triples, expected_modes, expected_kl',
  [
    (np.stack(np.unravel_index(np.arange(1000), (10, 10, 10)), axis=1), 1000, 0.0),
    (np.tile([[3, 1, 4]], (50, 1)), 1, math.log(1000)),
    (
      np.stack([np.arange(100) % 10, np.zeros(100, int), np.zeros(100, int)], axis=1),
      10,
      math.log(100),
    ),
    (np.arange(2000) % 500, 500, math.log(2)),
  ],
)
def test_stacked_mnist_statistics(triples, expected_modes, expected_kl):
  got = metrics.stacked_mnist_statistics(triples)
  assert got.modes_captured == expected_modes
  np.testing.assert_allclose(got.kl, expected_kl, atol=1e-12)
