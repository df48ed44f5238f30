"""The runs of several seeds of one config, trained together as one program.

`train_seeds_together(configs, workdir)` trains the runs that
`loop.train_and_evaluate` would train for each config (configs that differ
only in `seed`): each run starts from its own seed's state, reads its own
seed's batches in the same order, and is evaluated at the last step as the
loop evaluates it. What differs is how: the runs' states are stacked along
a new leading axis and every call takes K steps of all of them at once
(`steps.make_train_call(..., stacked=True)`, the step `jax.vmap`ped over the
runs). For networks as small as PacGAN's 2-D MLPs, one run's step is a
handful of small matrix products that leave a GPU idle between kernels,
and ten runs' steps should fill it (not yet measured on one:
benchmarks/accelerator.py --parts=toy2d). On a CPU it gains little, 1.15x
on 2 cores and nothing on one (benchmarks/results/speed.md): there, one
run per core (benchmarks/mode_collapse_2d.py --processes) gains 1.6x.

A benchmark's tool, not the loop: the runs are saved together every
`checkpoint_every` steps (one orbax checkpoint of the stacked state, with
every run's data positions) and resume from there; SIGTERM or Ctrl-C saves
the step the runs have reached and raises `Stopped`, as the loop saves and
stops. There are no sample grids before the last step and no TensorBoard.
"""

import dataclasses
import logging
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from etils import epath
from jax.sharding import NamedSharding

from jaxgan import eval as eval_lib
from jaxgan.train import checkpointing
from jaxgan.train import compilation
from jaxgan.train import evaluation
from jaxgan.train import experiment as experiment_lib
from jaxgan.train import loop
from jaxgan.train import preemption
from jaxgan.train import steps


class RunResult(NamedTuple):
  """One seed's run at its last step: its state, evaluation and samples' picture."""

  seed: int
  state: Any
  metrics: dict[str, float]
  picture: np.ndarray


class Stopped(Exception):
  """A signal stopped the runs before their last step; they were saved first."""


def _run_key(seed: int) -> str:
  return f'seed_{seed}'


def check_same_but_seed(configs: list[ml_collections.ConfigDict]) -> None:
  """Raises ValueError unless the configs are one config at distinct seeds."""
  if not configs:
    raise ValueError('No configs: give the config of each seed to train.')
  seeds = [c.seed for c in configs]
  if len(set(seeds)) != len(seeds):
    raise ValueError(f'Seeds {seeds} repeat: each run needs a seed of its own.')
  first = configs[0].to_dict()
  for config in configs[1:]:
    other = config.to_dict()
    differ = sorted(
      k for k in set(first) | set(other) if k != 'seed' and first.get(k) != other.get(k)
    )
    if differ:
      raise ValueError(
        f'The configs of seeds {configs[0].seed} and {config.seed} differ in {", ".join(differ)}; '
        'runs trained together may differ only in their seed.'
      )


def stack(trees: list[Any]) -> Any:
  """Trees of the same structure stacked leaf by leaf along a new leading axis."""
  return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree: Any, index: int) -> Any:
  """The `index`-th tree of a stacked tree."""
  return jax.tree.map(lambda leaf: leaf[index], tree)


def _stacked_abstract_state(experiment: experiment_lib.Experiment, runs: int) -> Any:
  """One run's abstract state with `runs` of it on a new leading axis, laid out as stacked."""
  partition = steps.stacked_partition(experiment.state_partition)
  return jax.tree.map(
    lambda a, spec: jax.ShapeDtypeStruct(
      (runs, *a.shape), a.dtype, sharding=NamedSharding(experiment.mesh, spec)
    ),
    experiment.abstract_state,
    partition,
  )


def train_seeds_together(
  configs: list[ml_collections.ConfigDict], workdir: str
) -> tuple[list[RunResult], float]:
  """Trains (or resumes, or finds finished) the configs' runs together; evaluates each.

  Args:
    configs: one config per seed, otherwise equal, each with `eval_every`
      set (the evaluation at the last step is the result).
    workdir: where the runs' shared checkpoints go (`<workdir>/checkpoints`).

  Returns:
    Each run's result in the order of `configs`, and the steps per second
    of the training this call did (0 if it found the runs finished).

  Raises:
    ValueError: for configs that differ in more than their seed.
    FloatingPointError: if a run's step produced a non-finite value.
    Stopped: if SIGTERM or SIGINT stopped the runs; the step they reached is saved.
  """
  check_same_but_seed(configs)
  config = configs[0]
  if not config.eval_every:
    raise ValueError('config.eval_every = 0: the runs are scored by their last evaluation.')
  experiment = experiment_lib.prepare(config)
  # The seed is read only by init and by the data iterators: one model serves all.
  experiments = [dataclasses.replace(experiment, config=c) for c in configs]
  seeds = [c.seed for c in configs]
  abstract_state = _stacked_abstract_state(experiment, len(configs))
  shardings = jax.tree.map(lambda a: a.sharding, abstract_state)

  checkpointer = checkpointing.Checkpointer(
    epath.Path(workdir) / 'checkpoints', max_to_keep=config.keep_checkpoints
  )
  iterators: list[dict] = []
  try:
    restored = checkpointer.restore_latest(abstract_state)
    if restored is None:
      state = jax.device_put(
        stack([e.init(c.seed) for e, c in zip(experiments, configs)]), shardings
      )
      data_state = None
    else:
      state, data_state = restored
    for e, seed in zip(experiments, seeds):
      iterators.append(dict(loop.stream_iterators(e)))
      if data_state is not None:
        for name, iterator in iterators[-1].items():
          iterator.set_state(data_state[_run_key(seed)][name])
    # Every run has taken as many steps.
    first_step = steps.step_of(unstack(state, 0))
    state, speed, stopped_by = _train(
      experiment, experiments, iterators, checkpointer, state, first_step, seeds
    )
  finally:
    checkpointer.close()
    for run in iterators:
      for iterator in run.values():
        iterator.close()
  if stopped_by is not None:
    raise Stopped(
      f'{stopped_by} stopped the runs in {workdir} at step {steps.step_of(unstack(state, 0)):,} '
      f'of {config.num_steps:,}, and they were saved: run the same command again to resume them.'
    )
  # One sampler and one evaluator serve every run.
  sample = compilation.jit(experiment.model.sample)
  stream = getattr(experiment.model, 'evaluation_stream', next(iter(experiment.streams)))
  evaluator = eval_lib.make_evaluator(
    experiment.datasets[stream], data_dir=experiment.streams[stream].spec.data_dir
  )
  results = [
    _evaluate(experiment, sample, evaluator, unstack(state, i), seed)
    for i, seed in enumerate(seeds)
  ]
  return results, speed


def _train(experiment, experiments, iterators, checkpointer, state, first_step, seeds):
  """Steps every run from `first_step` to `num_steps`, saving every `checkpoint_every`.

  Returns:
    The stacked state, the steps per second of this training, and the name
    of the signal that stopped it early (after saving its step), or None.
  """
  config, mesh = experiment.config, experiment.mesh
  call = steps.make_train_call(
    experiment.model, mesh, experiment.state_partition, nonfinite=config.nonfinite, stacked=True
  )
  start, step = time.monotonic(), first_step
  stop = preemption.StopRequest()
  with stop.installed():
    while step < config.num_steps:
      steps_in_call = loop.call_length(step, config.num_steps, config.steps_per_call)
      local = [
        loop.next_call_batches(its, e, steps_in_call) for its, e in zip(iterators, experiments)
      ]
      data_state = {
        _run_key(seed): {name: it.get_state() for name, it in its.items()}
        for seed, its in zip(seeds, iterators)
      }
      batches = jax.tree.map(lambda *runs: np.stack(runs), *local)
      state, metrics = call(
        state, steps.global_batches(mesh, batches, jax.process_count(), stacked=True)
      )
      step += steps_in_call
      # A signal during the call: this step is checked and saved, then the runs stop.
      stopping = stop.agreed()
      due = lambda every: stopping or step % every == 0 or step == config.num_steps
      if not (due(config.log_every) or due(config.checkpoint_every)):
        continue
      host = steps.to_host(metrics)
      finite = host.pop(steps.FINITE_METRIC)  # (steps, runs)
      if config.nonfinite == 'halt' and not finite.all():
        bad = [seed for seed, ok in zip(seeds, finite.all(axis=0)) if not ok]
        raise FloatingPointError(
          f'The runs of seeds {bad} produced non-finite values before step {step}; the last '
          'checkpoint saved is the one before.'
        )
      rate = (step - first_step) / (time.monotonic() - start)
      means = ', '.join(f'{name}={np.mean(v[-1]):.4g}' for name, v in sorted(host.items()))
      logging.info(
        'step %d/%d (%d runs): %s, %.1f steps/s', step, config.num_steps, len(seeds), means, rate
      )
      if due(config.checkpoint_every):
        checkpointer.save(step, state, data_state)
      if stopping:
        break
  trained = step - first_step
  speed = trained / (time.monotonic() - start) if trained else 0.0
  return state, speed, stop.signal_name if step < config.num_steps else None


def _evaluate(experiment, sample, evaluator, state, seed: int) -> RunResult:
  """The loop's last evaluation and sample plot of one run, from its own state."""
  model, mesh, config = experiment.model, experiment.mesh, experiment.config
  report = evaluation.evaluate(
    model, state, sample, mesh, evaluator, num_samples=config.eval_samples, seed=seed + 1
  )
  grid = model.sample_inputs(seed, config.num_samples)
  samples = steps.to_host(sample(state, steps.replicate(mesh, grid.inputs)))
  return RunResult(seed, state, report['metrics'], model.draw(samples, grid.columns))
