"""How long a benchmark's run took to train, summed over the commands that trained it.

A run at a published length takes hours on a CPU, so it is stopped (SIGTERM
saves it) and resumed, maybe in another session. Timing only the command
that finishes it would credit that command's seconds with all the run's
steps, or give nothing for a run it found finished. Instead each command
that trains a run adds its steps and seconds to `training_time.json` in the
run's workdir, and the benchmark reports the sums:

  record = training_time.train(config, workdir)   # loop.train_and_evaluate, timed
  record.steps / record.seconds                    # every recorded call's speed

A call's steps are those between the latest checkpoints before and after it,
so a call stopped by a signal counts the steps it saved; one that raised
(a NaN, a crash) adds nothing, as its unsaved steps will be trained again.
Steps trained before a run had a record (or by the loop alone, without the
benchmark) are not in it: `record.steps` is then below the run's step.
"""

import json
import time
from typing import NamedTuple

from etils import epath
import ml_collections

from jaxgan.train import checkpointing
from jaxgan.train import loop
from jaxgan.train import workdir as workdir_lib

FILE = 'training_time.json'


class TrainingTime(NamedTuple):
  """Steps trained and seconds taken (compilation and checkpoints included) over `calls` calls."""

  steps: int
  seconds: float
  calls: int

  @property
  def steps_per_second(self) -> float | None:
    """The recorded calls' speed; None without a recorded step."""
    return self.steps / self.seconds if self.steps and self.seconds > 0 else None


def latest_step(workdir: epath.PathLike) -> int:
  """The step of the run's latest checkpoint; 0 without one."""
  directory = epath.Path(workdir) / 'checkpoints'
  if not directory.is_dir():
    return 0
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=1, read_only=True)
  try:
    return max(checkpointer.all_steps(), default=0)
  finally:
    checkpointer.close()


def _calls(workdir: epath.PathLike) -> list[dict]:
  path = epath.Path(workdir) / FILE
  return json.loads(path.read_text())['calls'] if path.exists() else []


def _summed(calls: list[dict]) -> TrainingTime:
  return TrainingTime(
    sum(call['steps'] for call in calls), sum(call['seconds'] for call in calls), len(calls)
  )


def read(workdir: epath.PathLike) -> TrainingTime:
  """The run's record, every call summed; zeros without one."""
  return _summed(_calls(workdir))


def add(
  workdir: epath.PathLike, *, first_step: int, last_step: int, seconds: float
) -> TrainingTime:
  """Adds one call that trained from `first_step` to `last_step` in `seconds`; the new record."""
  calls = _calls(workdir) + [
    {
      'first_step': first_step,
      'steps': last_step - first_step,
      'seconds': round(seconds, 3),
      'finished_at': time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()),
    }
  ]
  workdir_lib.write_text(epath.Path(workdir) / FILE, json.dumps({'calls': calls}, indent=1) + '\n')
  return _summed(calls)


def train(config: ml_collections.ConfigDict, workdir: str) -> TrainingTime:
  """`loop.train_and_evaluate(config, workdir)`, timed into the run's record.

  Returns:
    The run's record after this call, every recorded call summed.
  """
  first_step = latest_step(workdir)
  start = time.monotonic()
  loop.train_and_evaluate(config, workdir)
  seconds = time.monotonic() - start
  last_step = latest_step(workdir)
  if last_step > first_step:
    return add(workdir, first_step=first_step, last_step=last_step, seconds=seconds)
  return read(workdir)


def describe(record: TrainingTime) -> str:
  """A run's record in words, for its line of a benchmark's output."""
  if not record.steps:
    return 'no record of its training time'
  return (
    f'{record.steps:,} steps in {record.seconds / 60:.1f} min over {record.calls} call(s) '
    f'({record.steps_per_second:.2f} steps/s, compilation and checkpoints included)'
  )


def time_taken(wall: float, records: list[TrainingTime]) -> str:
  """A command's wall time, and its runs' recorded training time summed over every command.

  The two differ when runs were resumed from, or found finished by, earlier
  commands, or trained side by side.
  """
  text = f'{wall / 60:.1f} min'
  if any(r.steps for r in records):
    trained = sum(r.seconds for r in records) / 60
    text += f' for this command ({trained:.1f} min of training recorded for its runs in all)'
  return text
