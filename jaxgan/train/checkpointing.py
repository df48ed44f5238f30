"""Checkpoints of a run: the whole GANState and where the data stands.

Orbax's `CheckpointManager` writes each checkpoint to a temporary folder and
renames it into place when complete, so a kill during a save leaves no
half-written step folder behind on a local disk. Disks and people are less
tidy: a step folder can still be damaged afterwards (a full disk, a copy
that stopped halfway, a file deleted by hand). `restore_latest` therefore
tries checkpoints newest first, moves any that does not restore aside to
`<directory>_corrupt/` with a warning, and resumes from the last good one.
"""

import dataclasses
import logging
import os
import shutil
import time
from typing import Any

from etils import epath
import jax
import orbax.checkpoint as ocp

from jaxgan.families.classic import state as state_lib

DataPosition = dict[str, int]


def _to_saveable(state: state_lib.GANState) -> state_lib.GANState:
  # Orbax stores arrays; a typed key is stored as its raw key data and its
  # implementation is restored from the abstract state.
  return state.replace(key=jax.random.key_data(state.key))


def _describe(fields: dict[str, bool]) -> str:
  return ', '.join(f'{name}{"" if full else " (empty)"}' for name, full in sorted(fields.items()))


class Checkpointer:
  """Saves and restores a run's state and data position in one folder.

  Attributes:
    directory: where step folders live (`workdir/checkpoints`).
  """

  def __init__(self, directory: str, *, max_to_keep: int):
    """Opens (creating if needed) the checkpoint folder.

    Args:
      directory: absolute or relative path of the checkpoint folder.
      max_to_keep: how many of the latest checkpoints to keep.
    """
    self.directory = os.path.abspath(directory)
    self._manager = self._open_manager(max_to_keep)
    self._max_to_keep = max_to_keep

  def _open_manager(self, max_to_keep: int) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(
      self.directory,
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
      item_names=('state', 'data_position'),
    )

  def latest_step(self) -> int | None:
    """The step of the newest checkpoint on disk, or None."""
    return self._manager.latest_step()

  def save(self, state: state_lib.GANState, data_position: DataPosition) -> None:
    """Saves asynchronously; the next save or `wait` waits for it.

    Args:
      state: the state to save; its step names the checkpoint.
      data_position: JSON-serialisable position of the data iterator.
    """
    step = int(jax.device_get(state.step))
    if step in self._manager.all_steps():
      return  # Already saved, e.g. the final step after a periodic save.
    self._manager.save(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(_to_saveable(state)),
        data_position=ocp.args.JsonSave(data_position),
      ),
    )

  def wait(self) -> None:
    """Blocks until every save in flight is on disk."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def restore_latest(
    self, abstract_state: state_lib.GANState
  ) -> tuple[state_lib.GANState, DataPosition] | None:
    """Restores the newest checkpoint that restores, skipping damaged ones.

    Args:
      abstract_state: the state's structure, as `jax.ShapeDtypeStruct`s
        carrying the shardings to restore onto (from `jax.eval_shape`).

    Returns:
      (state, data_position), or None if there is no good checkpoint.
    """
    key = abstract_state.key
    target = abstract_state.replace(key=jax.eval_shape(jax.random.key_data, key))
    target = target.replace(
      key=jax.ShapeDtypeStruct(target.key.shape, target.key.dtype, sharding=key.sharding)
    )
    for step in sorted(self._manager.all_steps(), reverse=True):
      restore_target, absent = self._restore_target(step, target)
      try:
        restored = self._manager.restore(
          step,
          args=ocp.args.Composite(
            state=ocp.args.StandardRestore(restore_target), data_position=ocp.args.JsonRestore()
          ),
        )
      except Exception as error:  # pylint: disable=broad-except
        self._set_aside(step, error)
        continue
      state = restored['state']
      if absent:
        state = target.replace(**dict(state), **{field: {} for field in absent})
      # Keys are made by jax.random.key, with the default implementation.
      typed_key = jax.random.wrap_key_data(state.key)
      if typed_key.dtype != key.dtype:
        raise ValueError(
          f'The checkpoint at step {step} holds a {typed_key.dtype} key where '
          f'a {key.dtype} key was expected: the run was made with another '
          'jax_default_prng_impl. Set the same one to resume it.'
        )
      return state.replace(key=typed_key), dict(restored['data_position'])
    return None

  def _restore_target(self, step: int, target: state_lib.GANState) -> tuple[Any, tuple[str, ...]]:
    """What to restore the checkpoint at `step` into, and the fields it lacks.

    A checkpoint written before a state field existed lacks it; when the
    field holds nothing in this run (e.g. no moving average of G), the rest
    restores as a dict and the field is filled with {}. A checkpoint whose
    fields this run cannot fill was written by another version or config:
    that is refused, and nothing is moved, since the files are not damaged.

    Raises:
      ValueError: for a checkpoint of another state layout.
    """
    try:
      metadata = ocp.StandardCheckpointHandler().metadata(
        epath.Path(self.directory) / str(step) / 'state'
      )
      saved = {name: bool(jax.tree.leaves(metadata[name])) for name in metadata.keys()}
    except Exception:  # pylint: disable=broad-except
      return target, ()  # Unreadable: restoring will find it damaged.
    # Each field, and whether it holds anything (e.g. a moving average of G).
    expected = {
      f.name: bool(jax.tree.leaves(getattr(target, f.name))) for f in dataclasses.fields(target)
    }
    absent = tuple(sorted(set(expected) - set(saved)))
    fields = set(expected)
    if (
      set(saved) - fields
      or any(expected[field] for field in absent)
      or any(saved[field] != expected[field] for field in set(saved) & fields)
    ):
      raise ValueError(
        f'The checkpoint at step {step} in {self.directory} holds the fields '
        f"{_describe(saved)}, but this run's state has {_describe(expected)}: it was written by "
        'another version of jaxgan or with another config. Nothing was moved. Resume it '
        'with the version and config that wrote it, or use a new --workdir.'
      )
    if not absent:
      return target, ()
    return {field: getattr(target, field) for field in sorted(fields - set(absent))}, absent

  def _set_aside(self, step: int, error: Exception) -> None:
    # Moved, not deleted: nothing already on disk is lost, and the step
    # number is free again for the run to save when it gets there.
    corrupt_directory = self.directory + '_corrupt'
    destination = os.path.join(corrupt_directory, f'{step}-{time.strftime("%Y%m%d-%H%M%S")}')
    logging.warning(
      'Checkpoint at step %d in %s does not restore (%s: %s); moving it to '
      '%s and trying the one before.',
      step,
      self.directory,
      type(error).__name__,
      str(error).splitlines()[0] if str(error) else '',
      destination,
    )
    if jax.process_index() == 0:
      os.makedirs(corrupt_directory, exist_ok=True)
      shutil.move(os.path.join(self.directory, str(step)), destination)
    self._manager.close()
    self._manager = self._open_manager(self._max_to_keep)
