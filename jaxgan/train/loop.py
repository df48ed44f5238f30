"""The one training loop of every GAN family: `train_and_evaluate(config, workdir)`.

This is the function that `train.py`, the tests and notebooks call. What
differs between GANs (networks, state, step, samples) comes from the family
that `config.family` names (`jaxgan.families`); everything else is here:
the checks before anything is written, resuming from the workdir's latest
good checkpoint with the data streams where they stood (or starting from
another run's parameters), the data-parallel step over every device (K
steps per dispatch), logging, sample grids, evaluations, checkpoints,
stopping on a signal with every host saving the same step (the resumed run
then makes the grid and evaluation the stop skipped), and halting (or
skipping steps) before anything non-finite is saved.
"""

import logging
import time
from collections.abc import Iterator
from typing import Any

import jax
from jax.experimental import multihost_utils
import ml_collections
import numpy as np

from jaxgan import data
from jaxgan import eval as eval_lib
from jaxgan.train import checkpointing
from jaxgan.train import compilation
from jaxgan.train import divergence
from jaxgan.train import evaluation
from jaxgan.train import experiment as experiment_lib
from jaxgan.train import images
from jaxgan.train import init_from
from jaxgan.train import preemption
from jaxgan.train import reporting
from jaxgan.train import steps
from jaxgan.train import workdir as workdir_lib

# Fields of a workdir's saved config that a resume may not change: they
# decide what the checkpoints and the data positions mean. (A change that
# alters the state's layout is refused by the checkpoint's own check.)
_RUN_DEFINING_FIELDS = ('family', 'data.source', 'data.split', 'batch_size', 'seed')


def _check_same_run(workdir: workdir_lib.Workdir, config: ml_collections.ConfigDict) -> None:
  """Refuses to resume a workdir's run with a config for other data or another family."""
  changes = [
    change
    for change in workdir.config_changes(config)
    if change.split(':')[0] in _RUN_DEFINING_FIELDS
  ]
  if changes:
    raise ValueError(
      f'The workdir {workdir.path} holds a run made with another config ({"; ".join(changes)}), '
      'which this one cannot continue. Use a new --workdir, or the config that run was made '
      'with.'
    )


def _restore(
  checkpointer: checkpointing.Checkpointer,
  experiment: experiment_lib.Experiment,
  workdir: workdir_lib.Workdir,
) -> tuple[Any, dict] | None:
  """The latest good checkpoint's state and data positions, or None."""

  def check_data(data_state: dict) -> None:
    for name in experiment.streams:
      if name not in data_state:
        raise ValueError(f'it holds no data position for the stream {name!r}')
      data.check_state(data_state[name])

  try:
    return checkpointer.restore_latest(experiment.abstract_state, check_data=check_data)
  except checkpointing.LayoutError as error:
    changes = workdir.config_changes(experiment.config)
    raise ValueError(
      f'The workdir {workdir.path} holds checkpoints of another state layout '
      f'({"; ".join(error.differences)}), which this config cannot resume'
      + (f"; its config differs from the run's in {'; '.join(changes)}" if changes else '')
      + '. Nothing was changed. Use the config that run was made with, a new --workdir, or '
      f'a new --workdir with --config.init_from={workdir.path} to start a new run from its '
      'parameters.'
    ) from error


def stream_iterators(
  experiment: experiment_lib.Experiment,
) -> Iterator[tuple[str, data.BatchIterator]]:
  """(name, iterator) for each of the experiment's streams, made one at a time.

  Each stream shuffles and augments with a seed of its own, so that two
  streams of as many examples (CycleGAN's domains) do not pair them up.
  A generator, so that a caller can close the iterators already made if a
  later one fails.
  """
  config = experiment.config
  for position, (name, stream) in enumerate(experiment.streams.items()):
    yield (
      name,
      data.BatchIterator(
        stream.spec,
        global_batch_size=config.batch_size,
        seed=config.seed + position,
        with_labels=stream.with_labels,
        process_index=jax.process_index(),
        process_count=jax.process_count(),
      ),
    )


def call_length(step: int, num_steps: int, steps_per_call: int) -> int:
  """How many steps the call from `step` takes.

  Calls end on multiples of `steps_per_call` (so that every event, at a
  multiple of it, falls between calls) and at `num_steps`; a run resumed at
  another step (saved with another steps_per_call) first catches up to one.
  """
  return min(steps_per_call, num_steps - step, steps_per_call - step % steps_per_call)


def is_due(step: int, every: int, num_steps: int) -> bool:
  """Whether an event every `every` steps (0: never) falls on `step`: its multiples and the last."""
  return bool(every) and (step % every == 0 or step == num_steps)


def outputs_owed(
  step: int,
  *,
  num_steps: int,
  sample_every: int,
  eval_every: int,
  grid_saved: bool,
  evaluated_step: int | None,
) -> tuple[bool, bool]:
  """(grid, evaluation): whether a run resumed at `step` owes that step's grid and evaluation.

  A stop that lands on a step due for them saves the step and skips them (a
  preempted machine has seconds to save), so the resumed run makes them
  before it trains on: else its record would have a hole there, and a run
  stopped at its last step would never have its final evaluation.

  Args:
    step: the step the run resumes at.
    num_steps: the step it runs to.
    sample_every: config.sample_every (0: never).
    eval_every: config.eval_every (0: never).
    grid_saved: whether the sample grid of `step` is on disk.
    evaluated_step: the step of the workdir's latest evaluation, or None.
  """
  return (
    is_due(step, sample_every, num_steps) and not grid_saved,
    is_due(step, eval_every, num_steps) and (evaluated_step is None or evaluated_step < step),
  )


def _owed_at_resume(
  workdir: workdir_lib.Workdir, config: ml_collections.ConfigDict, step: int, is_primary: bool
) -> tuple[bool, bool]:
  """`outputs_owed` as the first process reads the workdir, the same on every host."""
  owed = np.zeros(2, np.int32)
  if is_primary:
    owed[:] = outputs_owed(
      step,
      num_steps=config.num_steps,
      sample_every=config.sample_every,
      eval_every=config.eval_every,
      grid_saved=workdir.sample_grid(step).exists(),
      evaluated_step=workdir.evaluated_step(),
    )
  if jax.process_count() > 1:
    # Sampling is collective: every host must make the same choice.
    owed = np.asarray(multihost_utils.broadcast_one_to_all(owed))
  return bool(owed[0]), bool(owed[1])


def next_call_batches(
  iterators: dict[str, data.BatchIterator],
  experiment: experiment_lib.Experiment,
  steps_in_call: int,
) -> dict[str, dict[str, np.ndarray]]:
  """This process's batches for one call: (K, batches_per_step, local_batch, ...) per stream."""
  local = {}
  for name, iterator in iterators.items():
    per_step = experiment.streams[name].batches_per_step
    taken = [next(iterator) for _ in range(steps_in_call * per_step)]
    local[name] = {
      feature: np.stack([b[feature] for b in taken]).reshape(
        steps_in_call, per_step, *taken[0][feature].shape
      )
      for feature in taken[0]
    }
  return local


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> Any:
  """Trains the GAN that `config` describes, resuming from `workdir`.

  Args:
    config: a config from `configs/`.
    workdir: where checkpoints, samples, metrics and TensorBoard events go
      (a local path or e.g. `gs://bucket/run`). If it holds checkpoints, the
      run resumes from the latest good one.

  Returns:
    The final state.

  Raises:
    ValueError: for a config mistake, before anything compiles or is
      written; or for a workdir that holds another run.
    FloatingPointError: if a step produces non-finite values (under
      `config.nonfinite = 'halt'`), before anything non-finite is saved.
    checkpointing.DamagedCheckpointError: for a damaged checkpoint that
      cannot be moved aside.
  """
  experiment = experiment_lib.prepare(config)
  evaluated = getattr(experiment.model, 'evaluation_stream', next(iter(experiment.streams)))
  if config.eval_every:
    eval_lib.check_evaluable(experiment.datasets[evaluated])
  workdir = workdir_lib.Workdir(workdir)
  _check_same_run(workdir, config)
  workdir.check_writable()

  # Nothing is written before the state is known: a refused resume or a
  # bad init_from leaves the workdir as it was.
  is_primary = jax.process_index() == 0
  checkpointer, restored = None, None
  if workdir.checkpoints.exists():
    checkpointer = checkpointing.Checkpointer(
      workdir.checkpoints, max_to_keep=config.keep_checkpoints
    )
    try:
      restored = _restore(checkpointer, experiment, workdir)
    except BaseException:
      checkpointer.close()
      raise
  if restored is not None:
    state, data_state = restored
  else:
    data_state = None
    try:
      state = (
        init_from.initial_state(experiment, config.init_from)
        if config.init_from
        else experiment.init(config.seed)
      )
    except BaseException:
      if checkpointer is not None:
        checkpointer.close()
      raise
  if checkpointer is None:
    checkpointer = checkpointing.Checkpointer(
      workdir.checkpoints, max_to_keep=config.keep_checkpoints
    )
  first_step = steps.step_of(state)
  owed = (False, False)
  if data_state is not None:
    logging.info('Resuming from the checkpoint at step %d in %s.', first_step, workdir.checkpoints)
    changes = workdir.config_changes(config)
    if changes:
      logging.info("The config differs from the run's before: %s.", '; '.join(changes))
    owed = _owed_at_resume(workdir, config, first_step, is_primary)
  if is_primary:
    workdir.write_config(config)
  if first_step >= config.num_steps:
    logging.info(
      'This run already reached step %d of config.num_steps = %d; %s. Raise '
      '--config.num_steps to train further.',
      first_step,
      config.num_steps,
      'making the sample grid or evaluation a stop skipped there' if any(owed) else 'nothing to do',
    )
    if not any(owed):
      checkpointer.close()
      return state

  iterators = {}
  try:
    if first_step < config.num_steps:
      for name, iterator in stream_iterators(experiment):
        iterators[name] = iterator
        if data_state is not None:
          iterator.set_state(data_state[name])
    return _train(
      experiment, workdir, checkpointer, iterators, state, first_step, owed, evaluated, is_primary
    )
  finally:
    checkpointer.close()
    for iterator in iterators.values():
      iterator.close()


def _train(
  experiment: experiment_lib.Experiment,
  workdir: workdir_lib.Workdir,
  checkpointer: checkpointing.Checkpointer,
  iterators: dict[str, data.BatchIterator],
  state: Any,
  first_step: int,
  owed: tuple[bool, bool],
  evaluated: str,
  is_primary: bool,
) -> Any:
  """The loop itself, from `first_step` to `config.num_steps` or a stop.

  `owed` says whether the grid and the evaluation of `first_step` are made
  first (`outputs_owed`).
  """
  config, model, mesh = experiment.config, experiment.model, experiment.mesh
  train_call = steps.make_train_call(
    model, mesh, experiment.state_partition, nonfinite=config.nonfinite
  )
  sample = compilation.jit(model.sample)
  grid = model.sample_inputs(config.seed, config.num_samples)
  grid_inputs = steps.replicate(mesh, grid.inputs)
  reporter = reporting.Reporter(
    str(workdir.tensorboard),
    first_step=first_step,
    num_steps=config.num_steps,
    shown=model.progress_metrics,
    enabled=is_primary,
  )
  evaluator = None  # Made at the first evaluation: it may embed a test set.
  stop = preemption.StopRequest()

  def save_grid(state: Any, step: int) -> None:
    samples = steps.to_host(sample(state, grid_inputs))
    picture = model.draw(samples, grid.columns)
    if is_primary:
      images.save_png(workdir.sample_grid(step), picture)
      reporter.image(step, 'samples', picture)

  def evaluate_at(state: Any, step: int) -> None:
    nonlocal evaluator
    evaluator = evaluator or eval_lib.make_evaluator(
      experiment.datasets[evaluated],
      data_dir=experiment.streams[evaluated].spec.data_dir,
    )
    report = evaluation.evaluate(
      model,
      state,
      sample,
      mesh,
      evaluator,
      num_samples=config.eval_samples,
      seed=config.seed + 1,
      # Polled at the same points on every host, so all drop it together.
      should_stop=stop.agreed,
    )
    if report is not None:
      reporter.evaluation(step, report['metrics'])
      if is_primary:
        evaluation.write_report(
          workdir,
          step=step,
          checkpoint=None,
          num_samples=config.eval_samples,
          results=report['metrics'],
          floor=report['real_vs_real'],
          sampler=model.sampler,
          evaluator=evaluator,
        )
        evaluation.record(workdir, step=step, results=report['metrics'])

  checks = divergence.StepChecks(config.nonfinite, checkpointer)
  data_state = {name: iterator.get_state() for name, iterator in iterators.items()}
  metrics = None
  intervals = (config.log_every, config.checkpoint_every, config.sample_every, config.eval_every)
  start_time = time.monotonic()
  step = first_step
  try:
    with stop.installed():
      owes_grid, owes_evaluation = owed
      if owes_grid and not stop.agreed():
        save_grid(state, step)
      if owes_evaluation and not stop.agreed():
        evaluate_at(state, step)
      while step < config.num_steps and not stop.agreed():
        steps_in_call = call_length(step, config.num_steps, config.steps_per_call)
        local = next_call_batches(iterators, experiment, steps_in_call)
        data_state = {name: iterator.get_state() for name, iterator in iterators.items()}
        state, metrics = train_call(state, steps.global_batches(mesh, local, jax.process_count()))
        metrics = checks.add(step, metrics)
        step += steps_in_call
        reporter.advance(step)
        due = lambda every: is_due(step, every, config.num_steps)
        if not any(map(due, intervals)):
          continue
        # Something needs the state: it must be good first.
        host_metrics = steps.to_host(metrics)
        checks.look(state, step, host_metrics)
        if due(config.log_every):
          scalars = {name: float(v[-1]) for name, v in host_metrics.items()}
          if config.nonfinite == 'skip':
            scalars['skipped_steps'] = float(checks.skipped)
          reporter.scalars(step, scalars)
        if due(config.checkpoint_every):
          checkpointer.save(step, state, data_state)
        # A stop asked for during the call skips the grid and the evaluation
        # (a preempted machine has seconds to save); the resumed run makes
        # them first (`outputs_owed`).
        if due(config.sample_every) and not stop.agreed():
          save_grid(state, step)
        if due(config.eval_every) and not stop.agreed():
          evaluate_at(state, step)
      if stop.signal_name is not None and step < config.num_steps:
        checks.look(state, step, None if metrics is None else steps.to_host(metrics))
        _save_on_stop(checkpointer, workdir, reporter, stop, step, state, data_state)
  finally:
    reporter.close()
  elapsed = time.monotonic() - start_time
  if step == first_step:
    return state  # Resumed at the last step or stopped at once: nothing trained.
  logging.info(
    'Trained steps %d to %d in %.1f s (%.2f steps/s). Samples in %s.',
    first_step,
    step,
    elapsed,
    (step - first_step) / max(elapsed, 1e-9),
    workdir.samples,
  )
  return state


def _save_on_stop(
  checkpointer: checkpointing.Checkpointer,
  workdir: workdir_lib.Workdir,
  reporter: reporting.Reporter,
  stop: preemption.StopRequest,
  step: int,
  state: Any,
  data_state: dict,
) -> None:
  """Saves the step a signal stopped at, and says so only once it is on disk."""
  checkpointer.save(step, state, data_state)
  checkpointer.wait()
  if step not in checkpointer.all_steps():
    raise RuntimeError(
      f'Stopped by {stop.signal_name} at step {step}, but its checkpoint is not in '
      f'{workdir.checkpoints}; the run resumes from the one before.'
    )
  reporter.message(
    f'Stopped by {stop.signal_name} at step {step}; the checkpoint is saved in '
    f'{workdir.checkpoints}. Run the same command again to resume.'
  )
