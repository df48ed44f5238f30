"""A family's per-device train step, run data-parallel, K steps per dispatch.

`make_train_call` wraps `model.train_step` in `jax.shard_map` over the `data`
mesh axis and `jax.jit` (the state donated; compiled with jaxgan's XLA
options, `compilation.jit`): one call runs as many steps as its batches
hold, as a `lax.scan` over them on the devices, so the host
dispatches once per K steps (`config.steps_per_call`). A GPU, or XLA:CPU on
a small model, spends a noticeable part of a short step waiting for the
host otherwise. A stacked call (`stacked=True`) trains several runs of one
model at once, their states and batches stacked on a leading axis, for
models too small to fill a GPU alone (benchmarks/seeds_together.py).

Batches arrive as they leave the data pipeline: images as uint8, which the
call turns into float32 in [-1, 1] on the devices (a quarter of the bytes
to move, and no host work), labels as int32. Every leaf has the shape
(steps, batches_per_step, global_batch, ...), split over `data` along its
third axis.

Every step is checked for non-finite values where it runs, and the verdict
returned as the metric `finite` (1 or 0 per step), fetched with the other
metrics. Under `nonfinite='halt'` the step checks its metrics (losses,
gradient norms: a handful of scalars, free), and the loop checks the whole
state whenever it needs it good (`all_finite`, once per log line or save):
reading every parameter and moment after every step would cost a vanilla
GAN 14% of its speed on CPU. Under `nonfinite='skip'` the step must judge
itself, so it checks its new state too, and a step that produced a
non-finite value is dropped on the devices: the state keeps its
floating-point arrays as they were, while its integer counters and keys move
on, so the next step draws new noise on the next batch.
"""

from typing import Any, Callable

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan import families
from jaxgan import parallel
from jaxgan.train import compilation

# (steps, batches_per_step, global_batch, ...): split along the global batch.
BATCH_PARTITION = P(None, None, parallel.DATA_AXIS)
# The same with the runs of a stacked call first: (runs, steps, ...).
STACKED_BATCH_PARTITION = P(None, None, None, parallel.DATA_AXIS)


def stacked_partition(state_partition: Any) -> Any:
  """A state's PartitionSpecs for R runs of it stacked on a new leading axis.

  Each run's arrays lie as one run's do: the runs' axis is not split.
  """
  return jax.tree.map(
    lambda spec: P(None, *spec), state_partition, is_leaf=lambda x: isinstance(x, P)
  )


def to_float_images(batch: Any) -> Any:
  """uint8 [0, 255] leaves -> float32 [-1, 1]; other leaves as they are."""

  def convert(x):
    if x.dtype != jnp.uint8:
      return x
    return x.astype(jnp.float32) * jnp.float32(1 / 127.5) - jnp.float32(1.0)

  return jax.tree.map(convert, batch)


# What the loop does with a step that produced a non-finite value.
NONFINITE_POLICIES = ('halt', 'skip')
FINITE_METRIC = 'finite'


def all_finite(tree: Any) -> jax.Array:
  """True where every floating-point value of `tree` is finite (a bool scalar)."""
  flags = [
    jnp.all(jnp.isfinite(x))
    for x in jax.tree.leaves(tree)
    if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)
  ]
  return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)


def keep_floats_unless(good: jax.Array, old: Any, new: Any) -> Any:
  """`new`, except that its floating-point arrays are `old`'s where `good` is False."""

  def choose(o, n):
    if not jnp.issubdtype(n.dtype, jnp.inexact):
      return n
    return jnp.where(good, n, o)

  return jax.tree.map(choose, old, new)


def guarded_step(train_step: Callable, *, nonfinite: str = 'halt') -> Callable:
  """`train_step` with its `finite` metric (of its metrics under 'halt', of its
  metrics and new state under 'skip'), and under 'skip' a bad step dropped.

  Per-device code: the flag is agreed over the `data` axis (a state laid
  out per device may go bad on one device only), so every device keeps or
  drops the same steps.
  """
  if nonfinite not in NONFINITE_POLICIES:
    raise ValueError(f'nonfinite = {nonfinite!r} is not one of {NONFINITE_POLICIES}.')

  def step(state, batch):
    new_state, metrics = train_step(state, batch)
    checked = (new_state, metrics) if nonfinite == 'skip' else metrics
    good = lax.pmin(all_finite(checked).astype(jnp.int32), parallel.DATA_AXIS) > 0
    if nonfinite == 'skip':
      new_state = keep_floats_unless(good, state, new_state)
    return new_state, {**metrics, FINITE_METRIC: good.astype(jnp.float32)}

  return step


def make_train_call(
  model: families.Model,
  mesh: jax.sharding.Mesh,
  state_partition: Any,
  *,
  nonfinite: str = 'halt',
  stacked: bool = False,
) -> Callable[[Any, families.Batch], tuple[Any, families.Metrics]]:
  """`call(state, batches) -> (state, metrics)`: K train steps in one dispatch.

  Args:
    model: the family's model; its `train_step` is per-device code.
    mesh: a mesh with a `data` axis.
    state_partition: the state's PartitionSpecs (`model.state_partition`).
    nonfinite: 'halt' (the loop stops before saving a bad state) or 'skip'
      (a step that produced a non-finite value is dropped on the devices).
    stacked: the state and the batches hold R independent runs (seeds)
      along a new leading axis, and each run takes its own steps
      (`jax.vmap` of the step over that axis): small models of several
      seeds train as one program, which keeps wide hardware busy. The
      runs' states are laid out as one run's (`stacked_partition`).

  Returns:
    A jitted function of the state (donated) and batches whose leaves have
    shape (K, batches_per_step, global_batch, ...) ((R, K, ...) if
    stacked), sharded as `BATCH_PARTITION` (`STACKED_BATCH_PARTITION`).
    Its metrics have a leading axis of K: one value per step (then one per
    run: (K, R)), `finite` among them. K is read from the batches' shape,
    so one call function serves calls of any length (each length compiles
    once).
  """

  train_step = guarded_step(model.train_step, nonfinite=nonfinite)
  if stacked:
    # The runs' axis is outermost in the batches, as a caller stacks them;
    # the scan below wants the steps' axis first.
    train_step = jax.vmap(train_step)

  def per_device(state, batches):
    batches = to_float_images(batches)
    if stacked:
      batches = jax.tree.map(lambda x: jnp.moveaxis(x, 0, 1), batches)
    steps = jax.tree.leaves(batches)[0].shape[0]
    if steps == 1:
      # No loop around a single step: it compiles to the same program as a
      # step on its own.
      state, metrics = train_step(state, jax.tree.map(lambda x: x[0], batches))
      return state, jax.tree.map(lambda m: m[None], metrics)
    return lax.scan(train_step, state, batches)

  # check_vma=False gives pmap's semantics: inside the step every value is
  # per-device, so the gradient of the replicated parameters is each
  # device's own and the family's explicit pmean averages them. With the
  # varying-axes checker on, JAX would instead sum those gradients over the
  # axis by itself (the transpose of broadcasting a replicated value), and
  # the hand-written VJPs of jaxgan.nn.convolutions would have to do the same.
  if stacked:
    state_partition = stacked_partition(state_partition)
  call = jax.shard_map(
    per_device,
    mesh=mesh,
    in_specs=(state_partition, STACKED_BATCH_PARTITION if stacked else BATCH_PARTITION),
    out_specs=(state_partition, P()),
    check_vma=False,
  )
  return compilation.jit(call, donate_argnums=compilation.donate_argnums(0))


def global_batches(
  mesh: jax.sharding.Mesh,
  local: dict[str, dict[str, np.ndarray]],
  process_count: int,
  *,
  stacked: bool = False,
) -> families.Batch:
  """This process's share of a call's batches, as global arrays over the mesh.

  Args:
    mesh: the `data` mesh.
    local: `local[stream][feature]` of shape (K, batches_per_step,
      local_batch, ...): this process's contiguous slice of each global batch.
    process_count: processes sharing the global batch.
    stacked: the leaves have a leading axis of runs first, (R, K, ...), for
      a stacked call (`make_train_call(..., stacked=True)`).
  """
  partition = STACKED_BATCH_PARTITION if stacked else BATCH_PARTITION
  sharding = NamedSharding(mesh, partition)
  batch_axis = len(partition) - 1

  def to_global(x):
    shape = list(x.shape)
    shape[batch_axis] *= process_count
    return jax.make_array_from_process_local_data(sharding, x, tuple(shape))

  return jax.tree.map(to_global, local)


def replicate(mesh: jax.sharding.Mesh, tree: Any) -> Any:
  """Host arrays that every process holds whole, as replicated global arrays."""
  sharding = NamedSharding(mesh, P())
  return jax.tree.map(
    lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), tree
  )


def to_host(tree: Any) -> Any:
  """Replicated global arrays as numpy, on every process (each holds a whole copy)."""

  def fetch(x):
    if not isinstance(x, jax.Array) or x.is_fully_addressable:
      return np.asarray(jax.device_get(x))
    return np.asarray(x.addressable_data(0))

  return jax.tree.map(fetch, tree)


def step_of(state: Any) -> int:
  """The step a state has reached: its `step` field (or `'step'` entry)."""
  step = state['step'] if isinstance(state, dict) else state.step
  return int(to_host(step))
