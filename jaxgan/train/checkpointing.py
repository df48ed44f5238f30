"""Checkpoints of a run: the whole state of any family, and where its data streams stand.

Orbax's `CheckpointManager` writes each checkpoint to a temporary folder and
renames it into place when complete, so a kill during a save leaves no
half-written step folder behind on a local disk. Disks and people are less
tidy: a step folder can still be damaged afterwards (a full disk, a copy
that stopped halfway, a file deleted by hand). `restore_latest` therefore
tries checkpoints newest first, moves any that does not restore aside to
`<directory>_corrupt/` with a warning, and resumes from the last good one.

A checkpoint whose arrays are readable but laid out differently from the
state this run expects (another model, another optimizer, a moving average
turned on) is not damaged: it was written with another config. It is
refused with `LayoutError` and left where it is.

All paths go through `etils.epath`, so the directory may be on a local disk
or a bucket (`gs://...`).
"""

import logging
import time
from typing import Any

from etils import epath
import jax
from jax.experimental import multihost_utils
import numpy as np
import orbax.checkpoint as ocp

DataState = dict[str, Any]


class LayoutError(ValueError):
  """A checkpoint holds another state layout than the run expects.

  Attributes:
    differences: lines naming the arrays that differ.
  """

  def __init__(self, message: str, differences: list[str]):
    super().__init__(message)
    self.differences = differences


def _is_key(x: Any) -> bool:
  return hasattr(x, 'dtype') and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_saveable(state: Any) -> Any:
  # Orbax stores arrays; a typed key is stored as its raw key data and its
  # implementation is restored from the abstract state.
  return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, state)


def _saveable_target(abstract_state: Any) -> Any:
  """The abstract state with each typed key replaced by its key data's shape."""

  def target(x):
    if not _is_key(x):
      return x
    shape = jax.eval_shape(jax.random.key_data, x)
    return jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=x.sharding)

  return jax.tree.map(target, abstract_state)


def _name(path: tuple) -> str:
  """An array's name as orbax writes it: the path's keys joined by dots."""
  parts = []
  for key in path:
    for attribute in ('name', 'key', 'idx'):
      if hasattr(key, attribute):
        parts.append(str(getattr(key, attribute)))
        break
  return '.'.join(parts)


def layout(tree: Any) -> dict[str, tuple[tuple[int, ...], str]]:
  """Each array of a state (or of a checkpoint's metadata) by name: (shape, dtype)."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {_name(path): (tuple(leaf.shape), np.dtype(leaf.dtype).name) for path, leaf in leaves}


def layout_differences(saved: dict, expected: dict, *, limit: int = 4) -> list[str]:
  """Lines naming arrays that one layout has and the other lacks, or shapes that differ."""
  lines = [f'{name}: only in the checkpoint' for name in sorted(set(saved) - set(expected))]
  lines += [f'{name}: not in the checkpoint' for name in sorted(set(expected) - set(saved))]
  lines += [
    f'{name}: {saved[name][0]} {saved[name][1]} in the checkpoint, {expected[name][0]} '
    f'{expected[name][1]} here'
    for name in sorted(set(saved) & set(expected))
    if saved[name] != expected[name]
  ]
  return lines[:limit] + ([f'and {len(lines) - limit} more'] if len(lines) > limit else [])


class Checkpointer:
  """Saves and restores a run's state and data positions in one folder.

  Attributes:
    directory: where step folders live (`workdir/checkpoints`).
  """

  def __init__(self, directory: epath.PathLike, *, max_to_keep: int):
    """Opens (creating if needed) the checkpoint folder.

    Args:
      directory: path of the checkpoint folder (local or e.g. `gs://`).
      max_to_keep: how many of the latest checkpoints to keep.
    """
    directory = epath.Path(directory)
    self.directory = directory if directory.is_absolute() else directory.resolve()
    self._max_to_keep = max_to_keep
    self._manager = self._open_manager()

  def _open_manager(self) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(
      self.directory,
      options=ocp.CheckpointManagerOptions(max_to_keep=self._max_to_keep, create=True),
      item_names=('state', 'data'),
    )

  def all_steps(self) -> list[int]:
    """The steps of the checkpoints on disk, oldest first."""
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: Any, data_state: DataState) -> None:
    """Saves asynchronously; the next save or `wait` waits for it.

    Every process of a multi-host run must call this with the same step.

    Args:
      step: the step the state has reached; it names the checkpoint.
      state: the state to save.
      data_state: JSON-serialisable positions of the data iterators.
    """
    if step in self._manager.all_steps():
      return  # Already saved, e.g. the final step after a periodic save.
    self._manager.save(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(_to_saveable(state)),
        data=ocp.args.JsonSave(data_state),
      ),
    )

  def wait(self) -> None:
    """Blocks until every save in flight is on disk."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def restore_latest(self, abstract_state: Any) -> tuple[Any, DataState] | None:
    """Restores the newest checkpoint that restores, setting damaged ones aside.

    Args:
      abstract_state: the state's structure, as `jax.ShapeDtypeStruct`s
        carrying the shardings to restore onto (from `jax.eval_shape`).

    Returns:
      (state, data_state), or None if there is no good checkpoint.

    Raises:
      LayoutError: for a checkpoint of another state layout, which stays in
        place.
    """
    target = _saveable_target(abstract_state)
    expected = layout(target)
    for step in sorted(self._manager.all_steps(), reverse=True):
      self._check_layout(step, expected)
      try:
        restored = self._manager.restore(
          step,
          args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), data=ocp.args.JsonRestore()
          ),
        )
      except Exception as error:  # pylint: disable=broad-except
        self._set_aside(step, error)
        continue
      # Keys were made by jax.random.key, with the default implementation.
      state = jax.tree.map(
        lambda x, a: jax.random.wrap_key_data(x) if _is_key(a) else x,
        restored['state'],
        abstract_state,
      )
      return state, dict(restored['data'])
    return None

  def _check_layout(self, step: int, expected: dict) -> None:
    """Raises LayoutError if the checkpoint at `step` holds other arrays than expected.

    A checkpoint whose metadata cannot be read is left to the restore,
    which finds it damaged.
    """
    try:
      metadata = ocp.StandardCheckpointHandler().metadata(self.directory / str(step) / 'state')
      saved = layout(metadata)
    except Exception:  # pylint: disable=broad-except
      return
    differences = layout_differences(saved, expected)
    if differences:
      raise LayoutError(
        f'The checkpoint at step {step} in {self.directory} holds another state layout '
        f'than this run ({"; ".join(differences)}): it was written with another config or '
        'version of jaxgan. Nothing was moved.',
        differences,
      )

  def _set_aside(self, step: int, error: Exception) -> None:
    # Moved, not deleted: nothing already on disk is lost, and the step
    # number is free again for the run to save when it gets there.
    corrupt_directory = epath.Path(f'{self.directory}_corrupt')
    destination = corrupt_directory / f'{step}-{time.strftime("%Y%m%d-%H%M%S")}'
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
      corrupt_directory.mkdir(parents=True, exist_ok=True)
      (self.directory / str(step)).rename(destination)
    if jax.process_count() > 1:
      # The others reopen the folder only once the move is done.
      multihost_utils.sync_global_devices(f'jaxgan: checkpoint {step} set aside')
    self._manager.close()
    self._manager = self._open_manager()
