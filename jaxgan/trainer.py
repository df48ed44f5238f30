"""Trains a GAN from a config: `train_and_evaluate(config, workdir)`.

This is the one function that `train.py`, the tests and notebooks call. It
checks the config against the dataset and the devices before anything
compiles or touches the disk, resumes from the latest good checkpoint in the
workdir, trains, and writes sample grids, TensorBoard events and
checkpoints into the workdir.
"""

import contextlib
import dataclasses
import json
import logging
import math
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan import checkpointing
from jaxgan import data
from jaxgan import dcgan
from jaxgan import evaluation
from jaxgan import images
from jaxgan import losses
from jaxgan import mlp
from jaxgan import reporting
from jaxgan import state as state_lib
from jaxgan import step as step_lib

MODELS = ('gan', 'dcgan')
GENERATOR_LOSSES: dict[str, Callable[[jax.Array], jax.Array]] = {
  'non_saturating': losses.non_saturating_generator_loss,
  'minimax': losses.minimax_generator_loss,
}
DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}
DCGAN_PRESETS = {
  28: (dcgan.Generator28, dcgan.Discriminator28),
  64: (dcgan.Generator64, dcgan.Discriminator64),
}


@dataclasses.dataclass(frozen=True)
class GAN:
  """A generator and discriminator with their optimizers and losses."""

  generator: nn.Module
  discriminator: nn.Module
  generator_optimizer: optax.GradientTransformation
  discriminator_optimizer: optax.GradientTransformation
  generator_loss: Callable[[jax.Array], jax.Array]
  latent_dim: int


def _choice_error(field: str, value: Any, choices: Any) -> ValueError:
  return ValueError(
    f'config.{field} = {value!r} is not one jaxgan knows. Choose one of '
    f'{", ".join(repr(c) for c in choices)}, e.g. --config.{field}='
    f'{next(iter(choices))}.'
  )


def check_config(
  config: ml_collections.ConfigDict, *, device_count: int, process_count: int = 1
) -> None:
  """Raises ValueError on a config mistake that needs no dataset to find.

  Args:
    config: the run's config.
    device_count: devices the batch will be split over.
    process_count: hosts the batch will be split over.

  Raises:
    ValueError: naming the field at fault and the fix.
  """
  if config.model not in MODELS:
    raise _choice_error('model', config.model, MODELS)
  if config.generator_loss not in GENERATOR_LOSSES:
    raise _choice_error('generator_loss', config.generator_loss, GENERATOR_LOSSES)
  if config.dtype not in DTYPES:
    raise _choice_error('dtype', config.dtype, DTYPES)
  if config.model == 'dcgan' and config.resolution not in DCGAN_PRESETS:
    raise _choice_error('resolution', config.resolution, DCGAN_PRESETS)
  for field in (
    'batch_size',
    'num_steps',
    'latent_dim',
    'log_every',
    'sample_every',
    'checkpoint_every',
    'keep_checkpoints',
    'num_samples',
    'eval_samples',
  ):
    if config[field] < 1:
      raise ValueError(f'config.{field} = {config[field]} must be at least 1.')
  if config.eval_every < 0:
    raise ValueError(f'config.eval_every = {config.eval_every} must be 0 (never) or more.')
  if config.batch_size % device_count:
    larger = math.ceil(config.batch_size / device_count) * device_count
    raise ValueError(
      f'config.batch_size = {config.batch_size} does not divide over the '
      f'{device_count} devices of this run: each device takes an equal '
      f'share. Use a multiple of {device_count}, e.g. '
      f'--config.batch_size={larger}.'
    )
  if config.batch_size % process_count:
    raise ValueError(
      f'config.batch_size = {config.batch_size} does not divide over the '
      f'{process_count} hosts of this run; use a multiple of {process_count}.'
    )


def build_gan(config: ml_collections.ConfigDict, image_shape: tuple[int, int, int]) -> GAN:
  """Maps the config to modules, optimizers and losses for images of a shape.

  Raises:
    ValueError: if the model cannot make images of `image_shape`.
  """
  dtype = DTYPES[config.dtype]
  height, width, channels = image_shape
  if config.model == 'gan':
    generator = mlp.MLPGenerator(
      image_shape=image_shape, batch_norm_axis_name=step_lib.DATA_AXIS, dtype=dtype
    )
    discriminator = mlp.MLPDiscriminator(dtype=dtype)
  else:
    generator_preset, discriminator_preset = DCGAN_PRESETS[config.resolution]
    generator = generator_preset(
      channels=channels,
      conv_implementation=config.conv_implementation,
      batch_norm_axis_name=step_lib.DATA_AXIS,
      dtype=dtype,
    )
    discriminator = discriminator_preset(
      conv_implementation=config.conv_implementation,
      batch_norm_axis_name=step_lib.DATA_AXIS,
      dtype=dtype,
    )
    if generator.image_shape != image_shape:
      raise ValueError(
        f'config.resolution = {config.resolution} builds the DCGAN for '
        f'{config.resolution}x{config.resolution} images, but '
        f'config.dataset = {config.dataset!r} holds {height}x{width} '
        f'images. Choose the network that fits, '
        f'--config.resolution={height}, or a dataset of '
        f'{config.resolution}x{config.resolution} images.'
        if height == width and height in DCGAN_PRESETS
        else f'config.dataset = {config.dataset!r} holds {height}x{width} images; '
        f'the DCGAN networks make 28x28 (--config.resolution=28) or 64x64 '
        f'(--config.resolution=64) images. Use a dataset of one of those '
        f'sizes.'
      )
  optimizer = lambda c: optax.adam(c.learning_rate, b1=c.b1, b2=c.b2)
  return GAN(
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=optimizer(config.generator_optimizer),
    discriminator_optimizer=optimizer(config.discriminator_optimizer),
    generator_loss=GENERATOR_LOSSES[config.generator_loss],
    latent_dim=config.latent_dim,
  )


def make_gan_train_step(gan: GAN, mesh: jax.sharding.Mesh) -> Callable:
  """The jitted, data-parallel train step of `gan` (`step.make_train_step`)."""
  return step_lib.make_train_step(
    generator=gan.generator,
    discriminator=gan.discriminator,
    generator_optimizer=gan.generator_optimizer,
    discriminator_optimizer=gan.discriminator_optimizer,
    generator_loss=gan.generator_loss,
    latent_dim=gan.latent_dim,
    mesh=mesh,
  )


def _create_state_fn(gan: GAN) -> Callable[[jax.Array], state_lib.GANState]:
  return lambda key: state_lib.create_state(
    key,
    generator=gan.generator,
    discriminator=gan.discriminator,
    generator_optimizer=gan.generator_optimizer,
    discriminator_optimizer=gan.discriminator_optimizer,
    latent_dim=gan.latent_dim,
  )


def make_state_initializer(
  gan: GAN, mesh: jax.sharding.Mesh
) -> Callable[[jax.Array], state_lib.GANState]:
  """A jitted `init(key) -> state at step 0`, replicated over the mesh.

  Compiled once, it starts any number of runs (seeds) of the same GAN.
  """
  return jax.jit(_create_state_fn(gan), out_shardings=NamedSharding(mesh, P()))


def initial_state(gan: GAN, seed: int, mesh: jax.sharding.Mesh) -> state_lib.GANState:
  """The step-0 state of a run, replicated over the mesh."""
  return make_state_initializer(gan, mesh)(jax.random.key(seed))


def abstract_state(gan: GAN, mesh: jax.sharding.Mesh) -> state_lib.GANState:
  """The state's shapes and dtypes, with replicated shardings, for restoring."""
  shapes = jax.eval_shape(_create_state_fn(gan), jax.random.key(0))
  replicated = NamedSharding(mesh, P())
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated), shapes)


def fixed_latents(seed: int, count: int, latent_dim: int) -> jax.Array:
  """The z that every sample grid of a run is drawn from, so grids compare."""
  key = jax.random.fold_in(jax.random.key(seed), 0x5A4D)
  return jax.random.normal(key, (count, latent_dim))


class _StopRequest:
  """Turns SIGINT/SIGTERM into a flag that the loop checks between steps."""

  def __init__(self):
    self.signal_name: str | None = None

  def __bool__(self) -> bool:
    return self.signal_name is not None

  @contextlib.contextmanager
  def installed(self) -> Iterator['_StopRequest']:
    # Signal handlers can only be set from the main thread; elsewhere (a
    # notebook worker thread) the defaults stay.
    if threading.current_thread() is not threading.main_thread():
      yield self
      return

    def handle(signum, frame):
      del frame
      if self.signal_name is not None and signum == signal.SIGINT:
        raise KeyboardInterrupt  # A second Ctrl-C stops at once.
      self.signal_name = signal.Signals(signum).name

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
      yield self
    finally:
      for s, handler in previous.items():
        signal.signal(s, handler)


# Fields that decide the shape of the state: a checkpoint made with other
# values cannot be restored. Learning rates, lengths and logging may change.
_RUN_DEFINING_FIELDS = ('model', 'resolution', 'latent_dim', 'dataset', 'dtype')


def _check_same_run(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Refuses to resume a workdir's run with a config for another model."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    return
  with open(path) as f:
    saved = json.load(f)
  changed = [
    f'{field}: {saved[field]!r} -> {config[field]!r}'
    for field in _RUN_DEFINING_FIELDS
    if field in saved and field in config and saved[field] != config[field]
  ]
  if changed:
    raise ValueError(
      f'The workdir {workdir} holds a run made with another config '
      f'({"; ".join(changed)}), whose checkpoints this one cannot resume. '
      f'Use a new --workdir, or the config that run was made with.'
    )


def _write_samples(
  reporter: reporting.Reporter, workdir: str, step: int, samples: jax.Array
) -> None:
  grid = images.make_grid(np.asarray(jax.device_get(samples)))
  images.save_png(os.path.join(workdir, 'samples', f'step_{step:07d}.png'), grid)
  reporter.image(step, 'samples', grid)


def _evaluate(
  evaluator: evaluation.MNISTEvaluator,
  config: ml_collections.ConfigDict,
  gan: GAN,
  sample: Callable[[jax.Array], jax.Array],
  step: int,
  workdir: str,
  reporter: reporting.Reporter,
  checkpoint: str | None,
) -> dict:
  """Measures G, logs the figures and writes workdir/metrics.json."""
  images = evaluation.generate_images(
    sample, num_samples=config.eval_samples, latent_dim=gan.latent_dim, seed=config.seed + 1
  )
  results = evaluator(images)
  floor = evaluator.real_vs_real(config.eval_samples)
  reporter.evaluation(step, results)
  if jax.process_index() == 0:
    evaluation.write_report(
      os.path.join(workdir, 'metrics.json'),
      step=step,
      checkpoint=checkpoint,
      num_samples=config.eval_samples,
      results=results,
      floor=floor,
    )
  return {'metrics': results, 'real_vs_real': floor}


def evaluate_checkpoint(workdir: str, *, num_samples: int | None = None) -> dict:
  """Evaluates the latest checkpoint of a run made by `train_and_evaluate`.

  Writes `metrics.json` into the workdir, recording which checkpoint, how
  many samples and which feature network were used.

  Args:
    workdir: the run's workdir (it holds config.json and checkpoints/).
    num_samples: samples to draw; default `config.eval_samples`.

  Returns:
    {'metrics': ..., 'real_vs_real': ...}.

  Raises:
    ValueError: if the workdir holds no run, or its images are not MNIST-like.
  """
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise ValueError(
      f'{workdir} holds no config.json: it is not a workdir that '
      'train.py wrote. Pass the --workdir of a run.'
    )
  with open(config_path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  config.eval_samples = num_samples or config.get('eval_samples', 10_000)
  dataset = data.dataset_info(config.dataset, data_dir=config.data_dir or None)
  evaluation.check_evaluable(dataset.image_shape, field='--num_samples')
  gan = build_gan(config, dataset.image_shape)
  mesh = step_lib.make_data_mesh()
  checkpointer = checkpointing.Checkpointer(
    os.path.join(workdir, 'checkpoints'), max_to_keep=config.keep_checkpoints
  )
  try:
    restored = checkpointer.restore_latest(abstract_state(gan, mesh))
  finally:
    checkpointer.close()
  if restored is None:
    raise ValueError(f'{workdir}/checkpoints holds no checkpoint to evaluate.')
  state, _ = restored
  step = int(jax.device_get(state.step))
  sample = step_lib.make_sample_fn(gan.generator)
  reporter = reporting.Reporter(workdir, first_step=step, num_steps=step, enabled=False)
  return _evaluate(
    evaluation.MNISTEvaluator(data_dir=config.data_dir or None),
    config,
    gan,
    lambda z: sample(state, z),
    step,
    workdir,
    reporter,
    checkpoint=os.path.join(checkpointer.directory, str(step)),
  )


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> state_lib.GANState:
  """Trains the GAN that `config` describes, resuming from `workdir`.

  Args:
    config: a config from `configs/`.
    workdir: where checkpoints, samples and TensorBoard events go. If it holds
      checkpoints, the run resumes from the latest good one.

  Returns:
    The final state.

  Raises:
    ValueError: for a config mistake, before anything compiles or is written.
    FloatingPointError: if the losses stop being finite.
  """
  mesh = step_lib.make_data_mesh()
  check_config(config, device_count=mesh.size, process_count=jax.process_count())
  dataset = data.dataset_info(config.dataset, data_dir=config.data_dir or None)
  gan = build_gan(config, dataset.image_shape)
  if config.eval_every:
    evaluation.check_evaluable(dataset.image_shape)

  _check_same_run(config, workdir)

  # Everything below may write into the workdir.
  os.makedirs(workdir, exist_ok=True)
  is_primary = jax.process_index() == 0
  if is_primary:
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      f.write(config.to_json_best_effort(indent=2))
  checkpointer = checkpointing.Checkpointer(
    os.path.join(workdir, 'checkpoints'), max_to_keep=config.keep_checkpoints
  )
  restored = checkpointer.restore_latest(abstract_state(gan, mesh))
  if restored is None:
    state, position = initial_state(gan, config.seed, mesh), None
  else:
    state, position = restored
    logging.info(
      'Resuming from the checkpoint at step %d in %s.', int(state.step), checkpointer.directory
    )
  first_step = int(jax.device_get(state.step))
  if first_step >= config.num_steps:
    logging.info(
      'This run already reached step %d of config.num_steps = %d; '
      'nothing to do. Raise --config.num_steps to train further.',
      first_step,
      config.num_steps,
    )
    checkpointer.close()
    return state
  batches = data.BatchIterator(
    config.dataset,
    global_batch_size=config.batch_size,
    seed=config.seed,
    data_dir=config.data_dir or None,
    process_index=jax.process_index(),
    process_count=jax.process_count(),
  )
  if position is not None:
    batches.restore(position)

  train_step = make_gan_train_step(gan, mesh)
  sample = step_lib.make_sample_fn(gan.generator)
  sample_latents = fixed_latents(config.seed, config.num_samples, gan.latent_dim)
  batch_sharding = NamedSharding(mesh, P(step_lib.DATA_AXIS))
  reporter = reporting.Reporter(
    workdir, first_step=first_step, num_steps=config.num_steps, enabled=is_primary
  )
  evaluator = None  # Made at the first evaluation: it embeds the test set.
  stop = _StopRequest()
  start_time = time.monotonic()
  step = first_step
  try:
    with stop.installed():
      while step < config.num_steps:
        local_batch = next(batches)
        batch = {
          'image': jax.make_array_from_process_local_data(batch_sharding, local_batch['image'])
        }
        state, metrics = train_step(state, batch)
        step += 1
        reporter.advance(step)
        last = step == config.num_steps
        done = last or bool(stop)
        if step % config.log_every == 0 or done:
          metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
          if not all(map(math.isfinite, metrics.values())):
            raise FloatingPointError(
              f'Losses are no longer finite at step {step}: {metrics}. The '
              f'last good checkpoint is in {checkpointer.directory}; lower '
              f'the learning rates (config.*_optimizer.learning_rate) or '
              f'use float32 (--config.dtype=float32).'
            )
          reporter.scalars(step, metrics)
        if (step % config.sample_every == 0 or done) and is_primary:
          _write_samples(reporter, workdir, step, sample(state, sample_latents))
        # Not when stopped by a signal: a preempted job has seconds to save.
        if config.eval_every and (step % config.eval_every == 0 or last):
          evaluator = evaluator or evaluation.MNISTEvaluator(data_dir=config.data_dir or None)
          _evaluate(
            evaluator,
            config,
            gan,
            lambda z: sample(state, z),
            step,
            workdir,
            reporter,
            checkpoint=None,
          )
        if step % config.checkpoint_every == 0 or done:
          checkpointer.save(state, batches.position)
        if stop:
          checkpointer.wait()
          reporter.message(
            f'Stopped by {stop.signal_name} at step {step}; the checkpoint '
            f'is saved in {checkpointer.directory}. Run the same command '
            f'again to resume.'
          )
          break
  finally:
    checkpointer.close()
    reporter.close()
    batches.close()
  elapsed = time.monotonic() - start_time
  logging.info(
    'Trained steps %d to %d in %.1f s (%.2f steps/s). Samples in %s.',
    first_step,
    step,
    elapsed,
    (step - first_step) / max(elapsed, 1e-9),
    os.path.join(workdir, 'samples'),
  )
  return state
