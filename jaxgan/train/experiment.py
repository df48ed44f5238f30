"""From a config to what a run trains: the family, its data, its model, the mesh.

`prepare` does every check that needs no writing and no compiling, in the
order a user would want to hear about mistakes: the loop's own fields, the
family's options, the data (is it there, what shape), the model against the
data, and the state's shapes (tracing the model's init, which runs the
networks' own argument checks). Training, evaluation and sampling all start
from it.
"""

import dataclasses
import math
import types
from typing import Any

import jax
import ml_collections
from jax.sharding import NamedSharding

from jaxgan import data
from jaxgan import families
from jaxgan import parallel
from jaxgan.train import steps

# Fields every config has (configs/default.py), checked here.
_POSITIVE_FIELDS = (
  'batch_size',
  'num_steps',
  'steps_per_call',
  'log_every',
  'sample_every',
  'num_samples',
  'checkpoint_every',
  'keep_checkpoints',
  'eval_samples',
)
# Events that happen every so many steps: they must fall between calls.
_EVERY_FIELDS = ('log_every', 'sample_every', 'checkpoint_every', 'eval_every')


@dataclasses.dataclass(frozen=True)
class Experiment:
  """A config resolved into what trains.

  Attributes:
    config: the run's config.
    family: the family's package (`jaxgan.families.<config.family>`).
    mesh: the `data` mesh over every device.
    streams: the family's data streams.
    datasets: what each stream's data look like.
    model: the family's model.
    abstract_state: the state's shapes, dtypes and shardings.
  """

  config: ml_collections.ConfigDict
  family: types.ModuleType
  mesh: jax.sharding.Mesh
  streams: dict[str, families.DataStream]
  datasets: dict[str, data.DatasetInfo]
  model: families.Model
  abstract_state: Any

  @property
  def state_partition(self) -> Any:
    return self.model.state_partition(self.abstract_state)

  def init(self, seed: int) -> Any:
    """The step-0 state, laid over the mesh as the model says."""
    shardings = jax.tree.map(lambda s: s.sharding, self.abstract_state)
    return jax.jit(self.model.init, out_shardings=shardings)(jax.random.key(seed))


def check_loop_config(
  config: ml_collections.ConfigDict, *, device_count: int, process_count: int
) -> None:
  """Raises ValueError, naming the field and the fix, for the loop's own fields."""
  for field in _POSITIVE_FIELDS:
    if config[field] < 1:
      raise ValueError(f'config.{field} = {config[field]} must be at least 1.')
  if config.seed < 0:
    raise ValueError(f'config.seed = {config.seed} must be 0 or more.')
  if config.nonfinite not in steps.NONFINITE_POLICIES:
    raise ValueError(
      f'config.nonfinite = {config.nonfinite!r} is not one of {steps.NONFINITE_POLICIES}.'
    )
  if config.eval_every < 0:
    raise ValueError(f'config.eval_every = {config.eval_every} must be 0 (never) or more.')
  for field in _EVERY_FIELDS:
    if config[field] % config.steps_per_call:
      raise ValueError(
        f'config.{field} = {config[field]} is not a multiple of config.steps_per_call = '
        f'{config.steps_per_call}: the loop logs, samples, saves and evaluates between '
        f'calls of {config.steps_per_call} steps. Use a multiple, e.g. --config.{field}='
        f'{max(1, config[field] // config.steps_per_call) * config.steps_per_call}.'
      )
  for count, what in ((device_count, 'devices'), (process_count, 'hosts')):
    if config.batch_size % count:
      larger = math.ceil(config.batch_size / count) * count
      raise ValueError(
        f'config.batch_size = {config.batch_size} does not divide over the {count} {what} '
        f'of this run: each takes an equal share. Use a multiple of {count}, e.g. '
        f'--config.batch_size={larger}.'
      )


def prepare(
  config: ml_collections.ConfigDict, *, mesh: jax.sharding.Mesh | None = None
) -> Experiment:
  """Resolves a config, checking it against the devices and the data.

  Args:
    config: a config from `configs/`.
    mesh: the mesh to use; default every device (`parallel.make_data_mesh`).

  Raises:
    ValueError: for a config mistake, naming the field and the fix.
  """
  mesh = mesh or parallel.make_data_mesh()
  family = families.load(config.get('family', ''))
  check_loop_config(config, device_count=mesh.size, process_count=jax.process_count())
  family.check_config(config, device_count=mesh.size)
  streams = family.data_streams(config)
  datasets = {
    name: data.dataset_info(stream.spec, with_labels=stream.with_labels)
    for name, stream in streams.items()
  }
  for name, info in datasets.items():
    if info.num_examples < config.batch_size:
      spec = streams[name].spec
      raise ValueError(
        f'{spec.config_field}.source = {spec.source!r} holds {info.num_examples} examples, '
        f'fewer than one batch (config.batch_size = {config.batch_size}); lower the batch '
        'size or add data.'
      )
  model = family.build(config, datasets)
  shapes = jax.eval_shape(model.init, jax.random.key(0))
  partition = model.state_partition(shapes)
  abstract_state = jax.tree.map(
    lambda s, p: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=NamedSharding(mesh, p)),
    shapes,
    partition,
  )
  return Experiment(config, family, mesh, streams, datasets, model, abstract_state)
