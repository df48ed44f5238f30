"""Tests of the 2-D mixtures' evaluator against known answers."""

import numpy as np

from jaxgan import data
from jaxgan.eval import mode_coverage


def ring_evaluator():
  ring = data.mixtures.MIXTURES[data.RING2D]
  return mode_coverage.ModeCoverageEvaluator(ring.name, ring.modes, ring.sigma, seed=0)


def test_the_mixture_itself_covers_every_mode():
  floor = ring_evaluator().real_vs_real(2500)
  assert floor['modes'] == 8
  assert floor['high_quality'] > 0.99  # 3 sigma in 2-D holds 98.9%.
  assert floor['reverse_kl'] < 0.01


def test_samples_at_one_mode_are_one_mode_and_log_8_nats_from_uniform():
  evaluator = ring_evaluator()
  one_mode = np.tile(data.mixtures.MIXTURES[data.RING2D].modes[:1], (100, 1))
  figures = evaluator(one_mode)
  assert figures == {'modes': 1, 'high_quality': 1.0, 'reverse_kl': np.log(8)}


def test_samples_far_from_every_mode_capture_none():
  figures = ring_evaluator()(np.full((50, 2), 5.0))
  assert figures['modes'] == 0 and figures['high_quality'] == 0.0
