"""Tests of benchmarks/seeds_together.py: several seeds' runs trained as one program."""

import json
import os
import signal

import jax
import numpy as np
import pytest

from benchmarks import seeds_together
from jaxgan.train import loop
from tests.test_toy2d import small_config


def _config(seed, **overrides):
  """test_toy2d's small config at a seed, saved every call (so a resume has a checkpoint)."""
  return small_config(seed=seed, checkpoint_every=10, **overrides)


def _parameters(state):
  """Every float32 array of a state, flattened into one vector."""
  leaves = [np.ravel(x) for x in jax.tree.leaves(state) if x.dtype == np.float32]
  return np.concatenate(leaves)


def test_runs_trained_together_are_the_runs_the_loop_trains_one_by_one(tmp_path):
  alone = [
    loop.train_and_evaluate(_config(seed), str(tmp_path / f'alone_{seed}')) for seed in (0, 1)
  ]
  results, _ = seeds_together.train_seeds_together(
    [_config(0), _config(1)], str(tmp_path / 'together')
  )
  # Each run ends where the loop's run of its seed ends, up to rounding (a
  # vmapped matrix product may round otherwise, and Adam's steps carry the
  # sign of tiny gradients): far closer to it than the two seeds are apart.
  # Measured with jax 0.10.2: under 1e-7 of that on 2 cores, 1.2e-3
  # pinned to one core; swapped runs would be 1 apart.
  apart = np.linalg.norm(_parameters(alone[0]) - _parameters(alone[1]))
  for seed, state, result in zip((0, 1), alone, results):
    assert result.seed == seed
    assert np.linalg.norm(_parameters(result.state) - _parameters(state)) < 1e-2 * apart
    report = json.loads((tmp_path / f'alone_{seed}' / 'metrics.json').read_text())
    assert result.metrics['modes'] == report['metrics']['modes']
    # Nearly equal parameters score nearly alike: up to 1.2% apart, measured
    # pinned to one core (2,500 samples, each assigned to its nearest mode).
    np.testing.assert_allclose(
      result.metrics['reverse_kl'], report['metrics']['reverse_kl'], rtol=5e-2
    )
    assert result.picture.shape == (600, 600, 3)


def test_a_stopped_benchmark_resumes_where_its_checkpoint_stood(tmp_path):
  configs = [_config(0), _config(2)]
  straight, _ = seeds_together.train_seeds_together(configs, str(tmp_path / 'straight'))
  halfway = [_config(seed, num_steps=10, eval_every=10) for seed in (0, 2)]
  seeds_together.train_seeds_together(halfway, str(tmp_path / 'resumed'))
  resumed, speed = seeds_together.train_seeds_together(configs, str(tmp_path / 'resumed'))
  assert speed > 0  # It trained steps 10 to 20, not from the start.
  for a, b in zip(straight, resumed):
    np.testing.assert_allclose(a.metrics['reverse_kl'], b.metrics['reverse_kl'], rtol=1e-5)
  # A third call finds the runs finished and trains nothing.
  _, speed = seeds_together.train_seeds_together(configs, str(tmp_path / 'resumed'))
  assert speed == 0


def test_sigterm_saves_the_step_reached_and_a_rerun_resumes_from_it(tmp_path, monkeypatch):
  # Saved only at the end: a checkpoint of step 20 is the stop's.
  configs = [small_config(seed=seed, num_steps=40, checkpoint_every=40) for seed in (0, 2)]
  straight, _ = seeds_together.train_seeds_together(configs, str(tmp_path / 'straight'))
  # A real SIGTERM to this process, as the second call's batches are read
  # (steps 10 to 20): the runs take that call, save step 20 and stop.
  reads = []
  next_call_batches = loop.next_call_batches

  def read_and_signal(*args):
    reads.append(None)
    if len(reads) == 2 * len(configs):
      os.kill(os.getpid(), signal.SIGTERM)
    return next_call_batches(*args)

  monkeypatch.setattr(loop, 'next_call_batches', read_and_signal)
  stopped = str(tmp_path / 'stopped')
  with pytest.raises(
    seeds_together.Stopped, match='SIGTERM stopped the runs in .* at step 20 of 40'
  ):
    seeds_together.train_seeds_together(configs, stopped)
  assert os.listdir(os.path.join(stopped, 'checkpoints')) == ['20']
  monkeypatch.undo()
  resumed, _ = seeds_together.train_seeds_together(configs, stopped)
  for a, b in zip(straight, resumed):
    np.testing.assert_allclose(a.metrics['reverse_kl'], b.metrics['reverse_kl'], rtol=1e-5)


def test_configs_that_differ_beyond_their_seed_are_refused(tmp_path):
  with pytest.raises(ValueError, match='differ in batch_size'):
    seeds_together.train_seeds_together([_config(0), _config(1, batch_size=200)], str(tmp_path))
  with pytest.raises(ValueError, match='repeat'):
    seeds_together.train_seeds_together([_config(0), _config(0)], str(tmp_path))
  assert not (tmp_path / 'checkpoints').exists()
