"""GAN families: what differs between GANs, behind one small interface.

A family is a package `jaxgan.families.<name>`, chosen by `config.family`
and imported by name (as big_vision imports `models.<name>`): adding one
edits nothing in the training loop. The package provides three functions:

  check_config(config) -> None
      Refuses option values and combinations that cannot work, with a
      ValueError that names the field and the fix; it needs no data and
      compiles nothing.
  data_streams(config) -> dict[str, DataStream]
      The datasets the family trains on: one stream of real images for most
      GANs, two (domains A and B) for CycleGAN.
  build(config, datasets: dict[str, jaxgan.data.DatasetInfo]) -> Model
      The networks, optimizers and options, for datasets of those shapes;
      raises ValueError if the networks cannot fit the data.

and the `Model` that `build` returns owns the rest (see `Model` below): its
state, its per-device train step, how its state lies over the mesh, its
sample grids and what its evaluations draw. The loop
(`jaxgan.train.loop.train_and_evaluate`) owns everything that does not
differ: the mesh and `shard_map`, the data iterators, checkpoints and exact
resume, preemption, logging, sample grids and evaluation.

A batch, as a train step receives it, is a dict over the family's streams:
`batch[stream][feature]` with shape (batches_per_step, local_batch, ...),
images as float32 in [-1, 1], labels as int32.
"""

import dataclasses
import importlib
import pkgutil
import types
from typing import Any, Protocol

import jax
import numpy as np
from jax.sharding import PartitionSpec as P

from jaxgan import data

State = Any
Batch = dict[str, dict[str, jax.Array]]
Metrics = dict[str, jax.Array]


@dataclasses.dataclass(frozen=True)
class DataStream:
  """One dataset a family trains on.

  Attributes:
    spec: what to read and how to transform it (`jaxgan.data.DataSpec`).
    batches_per_step: global batches of this stream that one train step
      takes (D's critic steps each take their own real batch).
    with_labels: whether the step needs the examples' class labels.
  """

  spec: data.DataSpec
  batches_per_step: int = 1
  with_labels: bool = False


@dataclasses.dataclass(frozen=True)
class SampleInputs:
  """The fixed inputs of a sample grid, and how to lay the grid out.

  Attributes:
    inputs: a pytree of arrays with a leading axis of one entry per sample
      (noise, labels, source images), passed to `Model.sample`.
    columns: samples per row of the grid; None lets the grid be square.
  """

  inputs: Any
  columns: int | None = None


class Model(Protocol):
  """What a family's `build` returns: a GAN the loop can train and sample.

  Attributes:
    sampler: what samples and metrics are drawn from, in words, for
      metrics.json (e.g. "moving average of G (decay 0.999)").
    progress_metrics: names of the metrics shown on the progress bar and in
      log lines (all metrics go to TensorBoard).
    evaluation_stream: optional; the stream whose data the samples are
      evaluated against (a translation's target domain). Without it, the
      first stream.
  """

  sampler: str
  progress_metrics: tuple[str, ...]

  def init(self, key: jax.Array) -> State:
    """The state at step 0: a pytree with an int32 scalar `step` field (or dict entry)."""

  def train_step(self, state: State, batch: Batch) -> tuple[State, Metrics]:
    """One train step, per device, inside `shard_map` over `parallel.DATA_AXIS`.

    Metrics are scalars already averaged over the axis (`lax.pmean`), so
    that every device returns the same values.
    """

  def state_partition(self, state: State) -> Any:
    """A PartitionSpec per leaf of `state`; `replicated(state)` for most families."""

  def sample_inputs(self, seed: int, count: int, *, label: int | None = None) -> SampleInputs:
    """The fixed inputs of a run's sample grids (and of `sample.py`).

    Raises:
      ValueError: for a `label` the model cannot draw.
    """

  def sample(self, state: State, inputs: Any) -> jax.Array:
    """Samples for `inputs`, in inference mode; jitted by the loop."""

  def evaluation_inputs(self, seed: int, count: int) -> tuple[Any, np.ndarray | None]:
    """The inputs of `count` samples to evaluate, and the class asked of each (or None)."""

  def draw(self, samples: np.ndarray, columns: int | None) -> np.ndarray:
    """Samples as one uint8 (H, W, C) picture: a grid of images, a scatter plot."""

  # Optional, for `sample.py --mode` (`jaxgan.train.saved_runs`); a family
  # without them refuses those modes by name.
  #
  # def interpolation_inputs(self, seed, walks, num_keyframes, frames_per_keyframe)
  #     -> SampleInputs: `walks` looping walks through the latent space
  #     (`latent_walks`), walk by walk, one column per frame.
  # figures: tuple[str, ...]; def figure(self, name, draw, seed)
  #     -> (images, images per row): figures drawn through `draw`, a function
  #     from sample inputs to images (StyleGAN's 'mixing' and 'truncation').


def replicated(state: State) -> Any:
  """The partition of a state that every device holds whole."""
  return jax.tree.map(lambda _: P(), state)


def load(name: str) -> types.ModuleType:
  """Imports the family package `jaxgan.families.<name>`.

  Raises:
    ValueError: if there is no such family.
  """
  if not name or not name.isidentifier():
    raise ValueError(
      f'config.family = {name!r} does not name a family; set e.g. --config.family=classic.'
    )
  try:
    return importlib.import_module(f'jaxgan.families.{name}')
  except ModuleNotFoundError as error:
    if error.name != f'jaxgan.families.{name}':
      raise
    raise ValueError(
      f'config.family = {name!r} is not a package in jaxgan/families/ '
      f'({", ".join(available())} are); choose one of those.'
    ) from error


def available() -> list[str]:
  """The names of the families in jaxgan/families/."""
  return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)
