"""The training iterator: shuffled, endless, exactly resumable batches, on grain.

The stream of a run is a pure function of (dataset, seed, global batch size):

- Example positions 0, 1, 2, ... Epoch e covers positions [e P, (e + 1) P)
  with P = (N // B) B (the last N mod B examples of each epoch are dropped);
  position j of epoch e holds example perm_e[j], where perm_e is a
  permutation of range(N) drawn from `SeedSequence([seed, epoch])`.
- Global batch g is positions [g B, (g + 1) B). Process p of `process_count`
  takes positions [g B + p b, g B + (p + 1) b), b = B / process_count, so the
  processes' batches, concatenated in process order, are the global batch
  that one process would read: 2 hosts x 2 devices see what 1 host x 4
  devices sees.
- Random transforms of an example draw from (seed, epoch, example index).

So the iterator's whole position is the index of the next global batch, and
grain's `MapDataset` (random access) resumes from any index by slicing.

One grain element is one local batch: its indices are computed, the examples
read with one `__getitems__` call (one fancy index for in-memory arrays
without transforms) and transformed. The alternative, one element per
example batched after the workers (the per-example layout whose batches do
not depend on the worker count), measured with benchmarks/data_speed.py on 2
cores: 3,600 against 390,000-410,000 MNIST images/s with no workers (grain's
per-element bookkeeping), 650 against 730-790 JPEG images/s, and within the
noise with 2 workers (1,040-1,100 against 760-1,020).
"""

from collections.abc import Iterator
import json
import logging
from typing import Any

from absl import flags


def _not_grains_profiling_notice(record: logging.LogRecord) -> bool:
  """False for grain's import-time warning that jaxlib < 0.11 cannot profile its workers.

  grain (0.2.18 and newer) logs it on every import with jax < 0.11, the
  versions Colab preinstalls, so every command there began with a WARNING
  line about profiling, which jaxgan never asks grain for.
  """
  return not record.getMessage().startswith('Grain multiprocess worker profiling requires')


logging.getLogger('absl').addFilter(_not_grains_profiling_notice)

# After the filter, which must see grain's import.
import grain
import numpy as np

from jaxgan.data import sources
from jaxgan.data import spec as spec_lib
from jaxgan.data import transforms as transforms_lib

# Batches decoded ahead of the one being returned: per worker process, or on
# the background thread when there are no workers. Two keep a decoder busy
# while the training step consumes one; more only hold memory.
PREFETCH_BATCHES = 2
# Global batches in the grain dataset: more than any run takes (2^62 steps),
# so the stream is endless while the dataset stays random access.
_NUM_BATCHES = 2**62
# Seeds must fit in one 32-bit word: `SeedSequence` splits larger integers
# into words, so seed 2^32 s1 + s0 at epoch 0 would read as [s0, s1], the
# entropy of seed s0 at epoch s1.
_MAX_SEED = 2**32
# The fields of `get_state` that must match to resume: what defines the
# stream. `num_workers`, the transforms and the process count are not among
# them: the global stream does not depend on them.
_STATE_IDENTITY = ('source', 'split', 'seed', 'global_batch_size', 'num_examples')


def check_state(state: Any) -> None:
  """Raises ValueError unless `state` has the form of a `BatchIterator` state.

  A checkpoint whose data positions fail this is damaged; one that passes
  may still belong to another stream, which `set_state` refuses.
  """
  if not isinstance(state, dict) or any(key not in state for key in _STATE_IDENTITY):
    raise ValueError(f'Not a BatchIterator state: {state!r}')
  next_batch = state.get('next_batch')
  if not isinstance(next_batch, int) or isinstance(next_batch, bool) or next_batch < 0:
    raise ValueError(f'next_batch={next_batch!r} in the data state is not a batch index.')


def epoch_permutation(seed: int, epoch: int, num_examples: int) -> np.ndarray:
  """The order in which epoch `epoch` of a run seeded `seed` visits the examples."""
  return np.random.default_rng(np.random.SeedSequence([seed, epoch])).permutation(num_examples)


class _BatchLoader:
  """Global batch index -> this process's part of that batch.

  Picklable: grain sends it to its worker processes, where it runs.
  """

  def __init__(
    self,
    source: Any,
    info: sources.DatasetInfo,
    transforms: transforms_lib.Transforms,
    *,
    seed: int,
    global_batch_size: int,
    local_batch_size: int,
    process_index: int,
    config_field: str,
  ):
    self._source = source
    self._info = info
    self._transforms = transforms
    self._seed = seed
    self._global_batch_size = global_batch_size
    self._local_batch_size = local_batch_size
    self._offset = process_index * local_batch_size
    self._steps_per_epoch = info.num_examples // global_batch_size
    self._config_field = config_field
    # In-memory arrays that need no per-image work are gathered with one
    # fancy index per array.
    self._gather = isinstance(source, sources.ArraySource) and transforms.is_identity
    # The last epoch's permutation, so that it is drawn once per epoch.
    self._permutation = (-1, np.empty((0,), np.int64))

  def indices(self, batch: int) -> tuple[int, np.ndarray]:
    """The epoch of global batch `batch` and this process's example indices in it."""
    epoch, step = divmod(batch, self._steps_per_epoch)
    cached_epoch, permutation = self._permutation
    if cached_epoch != epoch:
      permutation = epoch_permutation(self._seed, epoch, self._info.num_examples)
      # One assignment, so a thread reading it sees a consistent pair.
      self._permutation = (epoch, permutation)
    start = step * self._global_batch_size + self._offset
    return epoch, permutation[start : start + self._local_batch_size]

  def __call__(self, batch: int) -> dict[str, np.ndarray]:
    epoch, indices = self.indices(batch)
    if self._gather:
      return self._source.gather(indices)
    examples = self._source.__getitems__(indices.tolist())
    if self._info.feature == sources.POINT_KEY:
      out = {sources.POINT_KEY: np.stack([e[sources.POINT_KEY] for e in examples])}
    else:
      out = {
        sources.IMAGE_KEY: np.stack(
          [self._image(epoch, int(i), e[sources.IMAGE_KEY]) for i, e in zip(indices, examples)]
        )
      }
    if examples and sources.LABEL_KEY in examples[0]:
      out[sources.LABEL_KEY] = np.asarray([e[sources.LABEL_KEY] for e in examples], np.int32)
    return out

  def _image(self, epoch: int, index: int, image: np.ndarray) -> np.ndarray:
    """One image after the transforms, checked against the dataset's shape."""
    transforms = self._transforms
    rng = transforms_lib.example_rng(self._seed, epoch, index) if transforms.is_random else None
    field = f'{self._config_field}.center_crop' if transforms.center_crop else None
    field = field or (f'{self._config_field}.random_crop' if transforms.random_crop else None)
    try:
      image = transforms_lib.apply(image, transforms, rng)
    except ValueError as e:  # Only a crop larger than the image gets here.
      raise ValueError(
        f'{field}={transforms.crop} does not fit {self._source.describe(index)}: {e} '
        f'Lower it, or set {self._config_field}.resize={transforms.crop}.'
      ) from e
    if image.shape != self._info.shape:
      raise ValueError(
        f'{self._source.describe(index)} is {"x".join(map(str, image.shape))} after '
        f'the transforms, but the first image is {"x".join(map(str, self._info.shape))}: '
        f'the images of {self._config_field}.source={self._info.source!r} differ in size; '
        f'set {self._config_field}.center_crop (or random_crop), e.g. '
        f'{self._config_field}.resize=64 and {self._config_field}.center_crop=64.'
      )
    return image


class BatchIterator(Iterator[dict[str, np.ndarray]]):
  """Endless, deterministic, exactly resumable iterator over shuffled batches.

  Yields this process's part of each global batch (see the module
  docstring): `{'image': uint8 (b, H, W, C), 'label': int32 (b,)}` (the label
  only `with_labels`) for images, `{'point': float32 (b, 2)}` for points.
  Images stay uint8; the training step converts them on the device with
  `image.astype(float32) / 127.5 - 1` (as `to_float` does on the host).

  Use it as a context manager, or call `close()`, to stop the prefetch
  thread and the worker processes. Not thread-safe: one thread calls
  `next`.

  Attributes:
    info: the dataset's `DatasetInfo`.
    steps_per_epoch: global batches per epoch.
    global_batch_size: examples per step over all processes.
    local_batch_size: examples per step in this process.
    num_workers: decoding processes (0: a background thread).
  """

  def __init__(
    self,
    spec: spec_lib.DataSpec,
    *,
    global_batch_size: int,
    seed: int,
    with_labels: bool,
    process_index: int = 0,
    process_count: int = 1,
  ):
    """Opens the data; nothing is read until the first `next`.

    Args:
      spec: what to read and how to transform it.
      global_batch_size: examples per step over all processes; a multiple of
        `process_count`, at most the number of examples.
      seed: shuffling and augmentation seed, in [0, 2^32).
      with_labels: yield labels (for a conditional model).
      process_index: this process's index, `jax.process_index()`.
      process_count: number of processes, `jax.process_count()`.

    Raises:
      TypeError: if `spec` is not a `DataSpec`.
      ValueError: for a bad spec (as `dataset_info`) or bad arguments.
    """
    if not isinstance(spec, spec_lib.DataSpec):
      raise TypeError(f'spec must be a DataSpec, got {spec!r}.')
    if not isinstance(seed, (int, np.integer)) or not 0 <= seed < _MAX_SEED:
      raise ValueError(f'seed must be an integer in [0, 2**32), got {seed!r}.')
    if not 0 <= process_index < process_count:
      raise ValueError(
        f'process_index={process_index} is not in [0, process_count={process_count}).'
      )
    if global_batch_size <= 0 or global_batch_size % process_count:
      raise ValueError(
        f'global_batch_size={global_batch_size} must be a positive multiple of '
        f'process_count={process_count}.'
      )
    self.spec = spec
    source, self.info = spec_lib.open_dataset(spec, with_labels)
    self.global_batch_size = global_batch_size
    self.local_batch_size = global_batch_size // process_count
    self.steps_per_epoch = self.info.num_examples // global_batch_size
    if self.steps_per_epoch == 0:
      raise ValueError(
        f'The global batch size {global_batch_size} exceeds the {self.info.num_examples} '
        f'examples of {spec.config_field}.source={spec.source!r} split {spec.split!r}.'
      )
    self.num_workers = spec.num_workers
    self._seed = int(seed)
    self._loader = _BatchLoader(
      source,
      self.info,
      spec.transforms,
      seed=self._seed,
      global_batch_size=global_batch_size,
      local_batch_size=self.local_batch_size,
      process_index=process_index,
      config_field=spec.config_field,
    )
    self._next_batch = 0
    self._iterator = None  # Started by the first `next`, after any `set_state`.

  def _start(self) -> None:
    # The dataset starts at the next batch: slicing a random-access dataset
    # is how grain resumes, and it needs no state from the workers.
    dataset = grain.MapDataset.range(self._next_batch, _NUM_BATCHES).map(self._loader)
    if self.num_workers == 0:
      # One thread: loading is numpy and PIL, which release the GIL for the
      # heavy parts, and it runs beside the training step's dispatch.
      dataset = dataset.to_iter_dataset(
        grain.ReadOptions(num_threads=1, prefetch_buffer_size=PREFETCH_BATCHES)
      )
    else:
      if not flags.FLAGS.is_parsed():
        # grain 0.2.18 reads an absl flag when it starts workers, which fails
        # in programs that do not parse flags (tests, notebooks, scripts
        # without absl.app): google/grain#1355, fixed after 0.2.18. Unparsed
        # flags then read as their defaults, which is what such programs get
        # from every other flag.
        flags.FLAGS.mark_as_parsed()
      # Each worker reads every num_workers-th batch; grain interleaves them
      # back in order, so the stream does not depend on the worker count.
      dataset = dataset.to_iter_dataset(
        grain.ReadOptions(num_threads=0, prefetch_buffer_size=0)
      ).mp_prefetch(
        grain.MultiprocessingOptions(
          num_workers=self.num_workers, per_worker_buffer_size=PREFETCH_BATCHES
        )
      )
    self._iterator = iter(dataset)

  def __iter__(self) -> 'BatchIterator':
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    """Returns this process's part of the next global batch."""
    if self._iterator is None:
      self._start()
    batch = next(self._iterator)
    self._next_batch += 1
    return batch

  @property
  def epoch(self) -> int:
    """The epoch of the next batch."""
    return self._next_batch // self.steps_per_epoch

  def get_state(self) -> dict[str, Any]:
    """Where the stream stands, for checkpoints: JSON-serialisable.

    Returns:
      `{'next_batch': index of the next global batch, 'source', 'split',
      'seed', 'global_batch_size', 'num_examples'}`. The same in every
      process, so saving process 0's is enough.
    """
    return {
      'next_batch': self._next_batch,
      'source': self.spec.source,
      'split': self.spec.split,
      'seed': self._seed,
      'global_batch_size': self.global_batch_size,
      'num_examples': self.info.num_examples,
    }

  def set_state(self, state: dict[str, Any]) -> None:
    """Continues from `state`: the next batches are those that followed it.

    Works in a new process and with another `num_workers` or process count:
    the stream is a function of the batch index, not of the readers.

    Args:
      state: a value of `get_state`, possibly through JSON.

    Raises:
      ValueError: if `state` comes from another dataset, split, seed, global
        batch size, or a dataset whose size has changed since.
    """
    check_state(state)
    mine = self.get_state()
    differ = {key: state[key] for key in _STATE_IDENTITY if state[key] != mine[key]}
    if differ:
      raise ValueError(
        f'The data state {json.dumps(differ)} is not from this stream '
        f'({json.dumps({key: mine[key] for key in differ})}); resume with the '
        "run's own data source, split, seed and batch size, or start a new workdir."
      )
    self._close_iterator()
    self._next_batch = state['next_batch']

  def _close_iterator(self) -> None:
    if self._iterator is not None:
      self._iterator.close()
      self._iterator = None

  def close(self) -> None:
    """Stops the prefetch thread or the worker processes; `next` restarts them."""
    self._close_iterator()

  def __enter__(self) -> 'BatchIterator':
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()

  def __del__(self):
    # grain also cleans up on garbage collection, but not in a guaranteed
    # order at interpreter exit; closing here is cheap and idempotent.
    try:
      self._close_iterator()
    except Exception:  # pylint: disable=broad-except
      pass
