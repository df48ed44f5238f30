"""Tests of halting or skipping before anything non-finite is saved."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.train import checkpointing
from jaxgan.train import divergence
from jaxgan.train import steps


@pytest.fixture
def checkpointer(tmp_path):
  checkpointer = checkpointing.Checkpointer(tmp_path / 'checkpoints', max_to_keep=3)
  checkpointer.save(10, {'w': jnp.ones(3)}, {})
  yield checkpointer
  checkpointer.close()


def call_metrics(*flags):
  return {'loss': jnp.ones(len(flags)), steps.FINITE_METRIC: jnp.asarray(flags, jnp.float32)}


GOOD_STATE = {'step': jnp.int32(14), 'w': jnp.ones(3)}


def test_halt_names_the_first_bad_step_and_the_last_good_checkpoint(checkpointer):
  checks = divergence.StepChecks('halt', checkpointer)
  assert list(checks.add(10, call_metrics(1, 1))) == ['loss']
  checks.add(12, call_metrics(1, 0))
  with pytest.raises(FloatingPointError) as error:
    checks.look(GOOD_STATE, 14, {'loss': np.array([np.nan])})
  message = str(error.value)
  assert message.startswith('Step 14 produced non-finite values (non-finite at the last look: loss)')
  assert 'the last good checkpoint is step 10' in message
  # Looked at once: the flags are used up, and a good state passes.
  checks.look(GOOD_STATE, 14, None)


def test_a_state_gone_bad_under_finite_losses_halts_too(checkpointer):
  # What a learning rate of 1e6 does to Adam's second moments.
  checks = divergence.StepChecks('halt', checkpointer)
  checks.add(10, call_metrics(1, 1, 1, 1))
  with pytest.raises(FloatingPointError, match='The state at step 14 holds non-finite values'):
    checks.look({'step': jnp.int32(14), 'nu': jnp.array([1.0, jnp.inf])}, 14, None)


def test_skip_counts_bad_steps_and_halts_only_after_a_long_run_of_them(checkpointer):
  checks = divergence.StepChecks('skip', checkpointer)
  checks.add(0, call_metrics(1, 0, 0, 1, 0))
  checks.look(GOOD_STATE, 5, None)
  assert checks.skipped == 3
  almost = divergence.DIVERGED_AFTER - 2  # One bad step already ends the last call.
  checks.add(5, call_metrics(*([0] * almost)))
  checks.look(GOOD_STATE, 5 + almost, None)
  checks.add(5 + almost, call_metrics(0))
  with pytest.raises(FloatingPointError, match=f'The last {divergence.DIVERGED_AFTER} steps'):
    checks.look(GOOD_STATE, 6 + almost, None)
