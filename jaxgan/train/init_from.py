"""Starting a run from another run's parameters (`config.init_from`).

What a changed config cannot resume (another optimizer, a moving average
turned on, a wider network) can start a new run from the old one's latest
good checkpoint, read without changing it: every array of the same name,
shape and dtype is taken; the optimizers' states, the step and the key start
afresh, and the log says what was taken and what was not.
"""

import logging
from typing import Any

import jax

from jaxgan.train import checkpointing
from jaxgan.train import experiment as experiment_lib
from jaxgan.train import workdir as workdir_lib


def starts_afresh(name: str) -> bool:
  """Whether a run started from another's parameters keeps its own array `name`:
  its step and key, the optimizers' states (moments of another run's
  gradients, counts that drive its schedules), and its image pools (another
  run's past fakes)."""
  top = name.split('.')[0]
  return top in ('step', 'key') or top.endswith(('opt_state', 'pool'))


def initial_state(experiment: experiment_lib.Experiment, init_from: str) -> Any:
  """A fresh state with the arrays of the latest checkpoint in workdir `init_from` put in.

  Raises:
    ValueError: if `init_from` holds no readable checkpoint, or none of this
      run's arrays.
  """
  source = workdir_lib.Workdir(init_from)
  if not source.checkpoints.exists():
    raise ValueError(
      f'config.init_from = {init_from!r} holds no checkpoints/: pass the --workdir of a run '
      'of train.py.'
    )
  reader = checkpointing.Checkpointer(source.checkpoints, max_to_keep=1, read_only=True)
  try:
    found = reader.restore_latest_arrays()
  finally:
    reader.close()
  if found is None:
    raise ValueError(f'config.init_from = {init_from!r} holds no checkpoint that restores.')
  source_step, arrays = found
  taken, differing = [], []

  def take(path, fresh):
    name = checkpointing.array_name(path)
    if starts_afresh(name):
      return fresh
    old = arrays.get(name)
    if old is None or old.shape != fresh.shape or old.dtype != fresh.dtype:
      differing.append(name)
      return fresh
    taken.append(name)
    return jax.device_put(old, fresh.sharding)

  state = jax.tree_util.tree_map_with_path(take, experiment.init(experiment.config.seed))
  if not taken:
    raise ValueError(
      f'config.init_from = {init_from!r} holds no array of the same name and shape as this '
      f"run's ({', '.join(differing[:3])}, ...): it is a run of another model."
    )
  logging.info(
    'Started from the parameters of %s at step %d: %d arrays taken; the optimizers and the '
    'step start afresh.',
    init_from,
    source_step,
    len(taken),
  )
  if differing:
    logging.warning(
      '%d arrays of this run are not in %s with the same shape and start afresh: %s.',
      len(differing),
      init_from,
      ', '.join(differing[:8]) + (', ...' if len(differing) > 8 else ''),
    )
  return state
