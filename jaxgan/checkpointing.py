"""Checkpoints of a run: the whole GANState and where the data stands.

Orbax's `CheckpointManager` writes each checkpoint to a temporary folder and
renames it into place when complete, so a kill during a save leaves no
half-written step folder behind on a local disk. Disks and people are less
tidy: a step folder can still be damaged afterwards (a full disk, a copy
that stopped halfway, a file deleted by hand). `restore_latest` therefore
tries checkpoints newest first, moves any that does not restore aside to
`<directory>_corrupt/` with a warning, and resumes from the last good one.
"""

import logging
import os
import shutil
import time

import jax
import orbax.checkpoint as ocp

from jaxgan import state as state_lib

DataPosition = dict[str, int]


def _to_saveable(state: state_lib.GANState) -> state_lib.GANState:
  # Orbax stores arrays; a typed key is stored as its raw key data and its
  # implementation is restored from the abstract state.
  return state.replace(key=jax.random.key_data(state.key))


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
      try:
        restored = self._manager.restore(
          step,
          args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), data_position=ocp.args.JsonRestore()
          ),
        )
      except Exception as error:  # pylint: disable=broad-except
        self._set_aside(step, error)
        continue
      state = restored['state']
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
