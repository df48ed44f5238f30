"""Halting, or skipping steps, before anything non-finite is saved.

Each step returns a `finite` flag (`steps.guarded_step`): of its metrics
under `config.nonfinite = 'halt'`, of its metrics and new state under
'skip'. The flags stay on the devices until the loop needs the state to be
good (a log line, a checkpoint, a sample grid, an evaluation, a stop); then
`StepChecks.look` reads them and checks the whole state once, so the host
waits on the devices no more often than it already does.
"""

from typing import Any

import jax
import numpy as np

from jaxgan.train import checkpointing
from jaxgan.train import steps

# Under 'skip', this many bad steps in a row mean the run has diverged for
# good, not that it met an odd batch: it halts.
DIVERGED_AFTER = 100


class StepChecks:
  """The `finite` flags of the steps since the last look, and what to do about them.

  Attributes:
    skipped: steps dropped under 'skip' since this process started.
  """

  def __init__(self, policy: str, checkpointer: checkpointing.Checkpointer):
    """
    Args:
      policy: `config.nonfinite`, 'halt' or 'skip'.
      checkpointer: the run's checkpoints, to name the last good one.
    """
    self._policy = policy
    self._checkpointer = checkpointer
    self._pending: list[tuple[int, jax.Array]] = []  # (the call's first step, its flags)
    self._state_is_finite = jax.jit(steps.all_finite)
    self.skipped = 0
    self._skipped_in_a_row = 0

  def add(self, first_step: int, metrics: dict) -> dict:
    """Takes a call's flags out of its metrics; returns the other metrics."""
    metrics = dict(metrics)
    self._pending.append((first_step, metrics.pop(steps.FINITE_METRIC)))
    return metrics

  def _bad_steps(self) -> list[int]:
    """The steps since the last look whose flag is 0; counts runs of them."""
    firsts = [first for first, _ in self._pending]
    flags = steps.to_host([flag for _, flag in self._pending])
    self._pending = []
    bad = []
    for first, call in zip(firsts, flags):
      for i, good in enumerate(call):
        self._skipped_in_a_row = 0 if good else self._skipped_in_a_row + 1
        if not good:
          bad.append(first + i + 1)
    return bad

  def look(self, state: Any, step: int, last_metrics: dict[str, np.ndarray] | None) -> None:
    """Raises FloatingPointError if the run must halt; counts skipped steps.

    Args:
      state: the state the loop is about to log, save, sample or evaluate.
      step: the step it has reached.
      last_metrics: the last call's metrics on the host, named in the message.
    """
    bad_steps = self._bad_steps()
    if self._policy == 'skip' and bad_steps:
      self.skipped += len(bad_steps)
      if self._skipped_in_a_row >= DIVERGED_AFTER:
        raise FloatingPointError(
          f'The last {self._skipped_in_a_row} steps, to step {bad_steps[-1]}, all produced '
          f'non-finite values and were skipped{_named(last_metrics)}: the run has diverged. '
          f'Nothing non-finite was saved; {self._last_good()}. Lower the learning rates '
          '(config.*_optimizer.learning_rate).'
        )
      bad_steps = []
    if bad_steps:
      raise FloatingPointError(
        f'Step {bad_steps[0]} produced non-finite values{_named(last_metrics)}. Nothing '
        f'non-finite was saved; {self._last_good()}. {_FIXES}'
      )
    if not bool(self._state_is_finite(state)):
      raise FloatingPointError(
        f'The state at step {step} holds non-finite values (its losses are finite: an '
        f'optimizer state, a moving average or a parameter overflowed). Nothing non-finite '
        f'was saved; {self._last_good()}. {_FIXES}'
      )

  def _last_good(self) -> str:
    self._checkpointer.wait()
    saved = self._checkpointer.all_steps()
    if not saved:
      return 'no checkpoint was saved yet'
    return (
      f'the last good checkpoint is step {saved[-1]} in {self._checkpointer.directory}, and '
      'the run resumes from it'
    )


_FIXES = (
  'Lower the learning rates (config.*_optimizer.learning_rate, which a resume may change), '
  'or drop such steps with --config.nonfinite=skip.'
)


def _named(last_metrics: dict[str, np.ndarray] | None) -> str:
  if not last_metrics:
    return ''
  bad = [name for name, value in last_metrics.items() if not np.all(np.isfinite(value))]
  if not bad:
    return ''
  return f' (non-finite at the last look: {", ".join(bad[:4])}{", ..." * (len(bad) > 4)})'
