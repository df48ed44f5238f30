"""Checkpoints of a run: the whole state of any family, and where its data streams stand.

Orbax's `CheckpointManager` writes each checkpoint to a temporary folder and
renames it into place when complete, so a kill during a save leaves no
half-written step folder behind on a local disk. Disks and people are less
tidy: a step folder can still be damaged afterwards (a full disk, a copy
that stopped halfway, a file deleted by hand, bytes that rot). Each
checkpoint therefore carries a CRC-32 of every array of its state, taken
from the state before it was saved and checked against the state read
back. `restore_latest` tries checkpoints newest first, moves any that does
not restore or does not match its checksums aside to `<directory>_corrupt/`
with a warning, and resumes from the last good one. A read-only
Checkpointer (evaluating or sampling a run) skips such a checkpoint and
moves nothing.

A checkpoint whose arrays are readable but laid out differently from the
state this run expects (another model, another optimizer, a moving average
turned on) is not damaged: it was written with another config. It is
refused with `LayoutError` and left where it is.

All paths go through `etils.epath`, so the directory may be on a local disk
or a bucket (`gs://...`).
"""

import logging
import sys
import time
import zlib
from typing import Any, Callable

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


class DamagedCheckpointError(RuntimeError):
  """A damaged checkpoint that cannot be moved out of the run's way."""


_READ_FAILURE = 'Encountered error while reading array'


def _is_noise_of_a_failed_read(error: BaseException | None) -> bool:
  return isinstance(error, BaseException) and (
    _READ_FAILURE in str(error) or str(error) == 'Event loop is closed'
  )


class _NeverRetrievedFilter(logging.Filter):
  def filter(self, record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return not ('never retrieved' in record.getMessage() and _is_noise_of_a_failed_read(error))


_quieted = False


def _quiet_the_rest_of_a_failed_read() -> None:
  """Keeps a damaged checkpoint to one warning line.

  When one array of a checkpoint fails to read, orbax gives up on its event
  loop while the reads of the other arrays are still in flight; each of
  them then reports its own failure or the closed loop as an unraisable
  exception or an asyncio error, thousands of lines for one checkpoint.
  Those reports (and only those) go to debug level from then on.
  """
  global _quieted
  if _quieted:
    return
  _quieted = True
  previous_hook = sys.unraisablehook

  def hook(unraisable):
    if _is_noise_of_a_failed_read(unraisable.exc_value):
      logging.debug('After a failed checkpoint read: %s', unraisable.exc_value)
    else:
      previous_hook(unraisable)

  sys.unraisablehook = hook
  logging.getLogger('asyncio').addFilter(_NeverRetrievedFilter())


def _reason(error: BaseException) -> str:
  """The first line of the error at the root of `error`'s chain, shortened."""
  while error.__cause__ is not None:
    error = error.__cause__
  line = str(error).splitlines()[0] if str(error) else ''
  return f'{type(error).__name__}: {line[:200]}{"..." * (len(line) > 200)}'


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


def array_name(path: tuple) -> str:
  """An array's name as orbax writes it: the path's keys joined by dots."""
  parts = []
  for key in path:
    for attribute in ('name', 'key', 'idx'):
      if hasattr(key, attribute):
        parts.append(str(getattr(key, attribute)))
        break
  return '.'.join(parts)


def _host_array(x: Any) -> np.ndarray:
  """A whole array on this host, however it lies over the devices of the run."""
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    if x.sharding.is_fully_replicated:
      return np.asarray(x.addressable_data(0))
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(jax.device_get(x))


def checksums(saveable_state: Any) -> dict[str, str]:
  """A CRC-32 of each array's bytes, by the array's name (as `layout` names it)."""
  leaves = jax.tree_util.tree_flatten_with_path(saveable_state)[0]
  return {
    array_name(path): f'{zlib.crc32(np.ascontiguousarray(_host_array(leaf)).tobytes()):08x}'
    for path, leaf in leaves
  }


def layout(tree: Any) -> dict[str, tuple[tuple[int, ...], str]]:
  """Each array of a state (or of a checkpoint's metadata) by name: (shape, dtype)."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {array_name(path): (tuple(leaf.shape), np.dtype(leaf.dtype).name) for path, leaf in leaves}


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

  def __init__(self, directory: epath.PathLike, *, max_to_keep: int, read_only: bool = False):
    """Opens the checkpoint folder, creating it unless `read_only`.

    Args:
      directory: path of the checkpoint folder (local or e.g. `gs://`).
      max_to_keep: how many of the latest checkpoints to keep.
      read_only: for reading a run without changing it: nothing is created,
        saved or moved.
    """
    directory = epath.Path(directory)
    self.directory = directory if directory.is_absolute() else directory.resolve()
    self._max_to_keep = max_to_keep
    self._read_only = read_only
    self._manager = self._open_manager()

  def _open_manager(self) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(
      self.directory,
      # Read-only is this class's own rule (nothing saved or moved): orbax's
      # option of that name only adds warnings.
      options=ocp.CheckpointManagerOptions(
        max_to_keep=self._max_to_keep, create=not self._read_only
      ),
      item_names=('state', 'data', 'checksums'),
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
    if self._read_only:
      raise ValueError(f'{self.directory} was opened read-only; nothing may be saved there.')
    if step in self._manager.all_steps():
      return  # Already saved, e.g. the final step after a periodic save.
    saveable = _to_saveable(state)
    self._manager.save(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(saveable),
        data=ocp.args.JsonSave(data_state),
        checksums=ocp.args.JsonSave(checksums(saveable)),
      ),
    )

  def wait(self) -> None:
    """Blocks until every save in flight is on disk."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def restore_latest(
    self,
    abstract_state: Any,
    *,
    check_data: Callable[[DataState], None] | None = None,
  ) -> tuple[Any, DataState] | None:
    """Restores the newest checkpoint that restores whole, setting damaged ones aside.

    Args:
      abstract_state: the state's structure, as `jax.ShapeDtypeStruct`s
        carrying the shardings to restore onto (from `jax.eval_shape`).
      check_data: raises ValueError for data positions the run cannot
        continue from, which count as damage.

    Returns:
      (state, data_state), or None if there is no good checkpoint.

    Raises:
      LayoutError: for a checkpoint of another state layout, which stays in
        place.
      DamagedCheckpointError: for a damaged checkpoint that cannot be moved
        aside (training only).
    """
    target = _saveable_target(abstract_state)
    expected = layout(target)
    for step in sorted(self._manager.all_steps(), reverse=True):
      self._check_layout(step, expected)
      try:
        saveable, data_state = self._read(step, target)
        if check_data is not None:
          check_data(data_state)
      except Exception as error:  # pylint: disable=broad-except
        # Orbax's own error can be pages of asyncio frames: one line here,
        # the whole of it at debug level.
        logging.debug('Reading the checkpoint at step %d failed.', step, exc_info=True)
        _quiet_the_rest_of_a_failed_read()
        self._set_aside(step, error)
        continue
      # Keys were made by jax.random.key, with the default implementation.
      state = jax.tree.map(
        lambda x, a: jax.random.wrap_key_data(x) if _is_key(a) else x, saveable, abstract_state
      )
      return state, data_state
    return None

  def restore_latest_arrays(self) -> tuple[int, dict[str, np.ndarray]] | None:
    """The newest good checkpoint's arrays by name, as saved, whatever state they make.

    For starting another run from them (`config.init_from`): no layout is
    expected, and the arrays are read onto one device of this process.

    Returns:
      (step, {name: array}), or None if there is no good checkpoint.
    """
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        metadata = ocp.StandardCheckpointHandler().metadata(self.directory / str(step) / 'state')
        target = jax.tree.map(
          lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=device), metadata
        )
        saveable, _ = self._read(step, target)
      except Exception as error:  # pylint: disable=broad-except
        logging.debug('Reading the checkpoint at step %d failed.', step, exc_info=True)
        _quiet_the_rest_of_a_failed_read()
        self._set_aside(step, error)
        continue
      leaves = jax.tree_util.tree_flatten_with_path(saveable)[0]
      return step, {array_name(path): np.asarray(leaf) for path, leaf in leaves}
    return None

  def _read(self, step: int, target: Any) -> tuple[Any, DataState]:
    """The checkpoint at `step`, checked against its checksums."""
    has_checksums = (self.directory / str(step) / 'checksums').exists()
    items = dict(state=ocp.args.StandardRestore(target), data=ocp.args.JsonRestore())
    if has_checksums:
      items['checksums'] = ocp.args.JsonRestore()
    restored = self._manager.restore(step, args=ocp.args.Composite(**items))
    if has_checksums:
      found = checksums(restored['state'])
      saved = dict(restored['checksums'])
      wrong = sorted(name for name in saved.keys() | found.keys() if saved.get(name) != found.get(name))
      if wrong:
        raise ValueError(
          f'{len(wrong)} array(s) differ from their checksums, e.g. {", ".join(wrong[:3])}'
        )
    else:
      logging.warning(
        'The checkpoint at step %d in %s has no checksums (an earlier version of jaxgan wrote '
        'it); it is read unchecked.',
        step,
        self.directory,
      )
    data_state = restored['data']
    if not isinstance(data_state, dict):
      raise ValueError(f'its data positions are not a JSON object: {data_state!r}')
    return restored['state'], dict(data_state)

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
    reason = _reason(error)
    if self._read_only:
      logging.warning(
        'Checkpoint at step %d in %s does not restore (%s); reading the one before. '
        '(Training the run moves it aside.)',
        step,
        self.directory,
        reason,
      )
      return
    corrupt_directory = epath.Path(f'{self.directory}_corrupt')
    destination = corrupt_directory / f'{step}-{time.strftime("%Y%m%d-%H%M%S")}'
    logging.warning(
      'Checkpoint at step %d in %s does not restore (%s); moving it to %s and trying the one '
      'before.',
      step,
      self.directory,
      reason,
      destination,
    )
    if jax.process_index() == 0:
      try:
        corrupt_directory.mkdir(parents=True, exist_ok=True)
        (self.directory / str(step)).rename(destination)
      except OSError as move_error:
        raise DamagedCheckpointError(
          f'The checkpoint at step {step} in {self.directory} does not restore ({reason}) and '
          f'cannot be moved aside to {destination} ({type(move_error).__name__}: '
          f'{move_error}). Move it out of {self.directory} yourself, or make it readable, '
          'then run again.'
        ) from None
    if jax.process_count() > 1:
      # The others reopen the folder only once the move is done.
      multihost_utils.sync_global_devices(f'jaxgan: checkpoint {step} set aside')
    self._manager.close()
    self._manager = self._open_manager()
