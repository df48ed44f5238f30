"""Trains a GAN from a config: `train_and_evaluate(config, workdir)`.

This is the one function that `train.py`, the tests and notebooks call. It
checks the config against the dataset and the devices before anything
compiles or touches the disk, resumes from the latest good checkpoint in the
workdir, trains, and writes sample grids, TensorBoard events and
checkpoints into the workdir.
"""

import contextlib
import dataclasses
import functools
import json
import logging
import math
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.train import checkpointing
from jaxgan import data
from jaxgan.families.classic import dcgan
from jaxgan.eval import evaluator as evaluation
from jaxgan.train import images
from jaxgan.losses import adversarial as losses
from jaxgan.families.classic import mlp
from jaxgan.train import reporting
from jaxgan.families.classic import state as state_lib
from jaxgan.families.classic import step as step_lib

MODELS = ('gan', 'dcgan')
LOSSES = losses.ADVERSARIAL_LOSSES
CONDITIONINGS = ('none', 'concat', 'projection')
NORMALIZATIONS = ('batch_norm', 'layer_norm', 'none')
FEATURE_MATCHING = ('none', 'replace', 'add')
OPTIMIZERS = ('adam', 'rmsprop')
DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}
DCGAN_PRESETS = {
  28: (dcgan.Generator28, dcgan.Discriminator28),
  64: (dcgan.Generator64, dcgan.Discriminator64),
}


# Networks, optimizers, losses and options: see `step.GAN`.
GAN = step_lib.GAN

# The options as a run before them saved its config.json: what they were
# then, so that `evaluate.py` and `sample.py` read those runs too.
_OPTIONS_BEFORE_THEY_EXISTED = dict(
  conditioning='none',
  critic_steps=1,
  weight_clip=0.0,
  gradient_penalty=0.0,
  r1_gamma=0.0,
  spectral_norm=False,
  discriminator_normalization='batch_norm',
  ema_decay=0.0,
  minibatch_discrimination=0,
  minibatch_discrimination_dim=5,
  minibatch_stddev=0,
  packing=1,
  feature_matching='none',
)


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
  for field, choices in (
    ('loss', LOSSES),
    ('conditioning', CONDITIONINGS),
    ('discriminator_normalization', NORMALIZATIONS),
    ('feature_matching', FEATURE_MATCHING),
    ('generator_optimizer.name', OPTIMIZERS),
    ('discriminator_optimizer.name', OPTIMIZERS),
  ):
    value = config[field.split('.')[0]]
    value = value.name if '.' in field else value
    if value not in choices:
      raise _choice_error(field, value, choices)
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
    'critic_steps',
    'packing',
    'minibatch_discrimination_dim',
  ):
    if config[field] < 1:
      raise ValueError(f'config.{field} = {config[field]} must be at least 1.')
  for field in (
    'weight_clip',
    'gradient_penalty',
    'r1_gamma',
    'minibatch_discrimination',
    'minibatch_stddev',
  ):
    if config[field] < 0:
      raise ValueError(f'config.{field} = {config[field]} must be 0 (off) or more.')
  if not 0 <= config.ema_decay < 1:
    raise ValueError(
      f'config.ema_decay = {config.ema_decay} must be in [0, 1): 0 turns the moving '
      'average off; 0.999 is a common choice.'
    )
  _check_option_combinations(config)
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
  local_batch = config.batch_size // device_count
  if local_batch % config.packing:
    raise ValueError(
      f'config.packing = {config.packing} does not divide the batch of each device '
      f'({local_batch} = config.batch_size / {device_count} devices): D packs the '
      f'samples of each device in groups of {config.packing}. Use a batch size that is a '
      f'multiple of {config.packing * device_count}.'
    )
  group = config.minibatch_stddev
  packed_batch = local_batch // config.packing
  if group and packed_batch > group and packed_batch % group:
    raise ValueError(
      f'config.minibatch_stddev = {group} does not divide the {packed_batch} samples D sees '
      f'on each device; use a group size that divides it, e.g. --config.minibatch_stddev=4 '
      f'with a batch size that is a multiple of {4 * config.packing * device_count}.'
    )
  if config.batch_size % process_count:
    raise ValueError(
      f'config.batch_size = {config.batch_size} does not divide over the '
      f'{process_count} hosts of this run; use a multiple of {process_count}.'
    )


def _check_option_combinations(config: ml_collections.ConfigDict) -> None:
  """Refuses options that cannot work together, naming the fix."""
  penalties = [f for f in ('gradient_penalty', 'r1_gamma') if config[f]]
  if penalties:
    # Both penalties take each sample's own input gradient from one backward
    # pass, which is only right when D judges every sample on its own.
    mixing = [
      f'{f} = {config[f]}' for f in ('minibatch_discrimination', 'minibatch_stddev') if config[f]
    ]
    if config.packing > 1:
      mixing.append(f'packing = {config.packing}')
    if config.model == 'dcgan' and config.discriminator_normalization == 'batch_norm':
      mixing.append("discriminator_normalization = 'batch_norm'")
    if mixing:
      raise ValueError(
        f'config.{penalties[0]} needs a D that judges each sample on its own, but '
        f'config.{", config.".join(mixing)} makes D mix the samples of a batch. Turn '
        f'those off (for DCGAN use --config.discriminator_normalization=layer_norm, '
        f'as WGAN-GP does).'
      )
  if config.loss == 'wasserstein' and not (
    config.weight_clip or config.gradient_penalty or config.spectral_norm
  ):
    raise ValueError(
      "config.loss = 'wasserstein' needs D kept Lipschitz, or its loss grows without "
      'bound: set --config.weight_clip=0.01 (WGAN), --config.gradient_penalty=10 '
      '(WGAN-GP) or --config.spectral_norm=True.'
    )
  if config.conditioning != 'none' and config.packing > 1:
    raise ValueError(
      f'config.packing = {config.packing} with config.conditioning = '
      f'{config.conditioning!r}: packed samples would mix labels. Use one of the two.'
    )


def _optimizer(settings: ml_collections.ConfigDict) -> optax.GradientTransformation:
  if settings.get('name', 'adam') == 'rmsprop':
    # PyTorch's RMSprop, as WGAN's code ran it: eps outside the square root.
    return optax.rmsprop(settings.learning_rate, decay=settings.decay, eps=1e-8, eps_in_sqrt=False)
  return optax.adam(settings.learning_rate, b1=settings.b1, b2=settings.b2)


def build_gan(
  config: ml_collections.ConfigDict,
  image_shape: tuple[int, int, int],
  num_classes: int | None = None,
) -> GAN:
  """Maps the config to modules, optimizers and losses for images of a shape.

  Args:
    config: the run's config.
    image_shape: (H, W, C) of the dataset's images.
    num_classes: the dataset's number of classes (None if it has no labels);
      needed by a conditional GAN.

  Raises:
    ValueError: if the model cannot make images of `image_shape`, or is
      conditional and the dataset has no labels.
  """
  dtype = DTYPES[config.dtype]
  height, width, channels = image_shape
  conditional = config.conditioning != 'none'
  if conditional and not num_classes:
    raise ValueError(
      f'config.conditioning = {config.conditioning!r} needs class labels, but '
      f'config.dataset = {config.dataset!r} has no `label` feature. Use a labelled '
      f'dataset, or --config.conditioning=none.'
    )
  num_classes = num_classes if conditional else 0
  discriminator_options = dict(
    num_classes=num_classes,
    conditioning=config.conditioning if conditional else 'concat',
    spectral_norm=config.spectral_norm,
    minibatch_discrimination=config.minibatch_discrimination,
    minibatch_discrimination_dim=config.minibatch_discrimination_dim,
    minibatch_stddev=config.minibatch_stddev,
    packing=config.packing,
    dtype=dtype,
  )
  if config.model == 'gan':
    generator = mlp.MLPGenerator(
      image_shape=image_shape,
      num_classes=num_classes,
      batch_norm_axis_name=step_lib.DATA_AXIS,
      dtype=dtype,
    )
    discriminator = mlp.MLPDiscriminator(**discriminator_options)
  else:
    generator_preset, discriminator_preset = DCGAN_PRESETS[config.resolution]
    generator = generator_preset(
      channels=channels,
      num_classes=num_classes,
      conv_implementation=config.conv_implementation,
      batch_norm_axis_name=step_lib.DATA_AXIS,
      dtype=dtype,
    )
    discriminator = discriminator_preset(
      normalization=config.discriminator_normalization,
      conv_implementation=config.conv_implementation,
      batch_norm_axis_name=step_lib.DATA_AXIS,
      **discriminator_options,
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
  return GAN(
    generator=generator,
    discriminator=discriminator,
    generator_optimizer=_optimizer(config.generator_optimizer),
    discriminator_optimizer=_optimizer(config.discriminator_optimizer),
    latent_dim=config.latent_dim,
    loss=LOSSES[config.loss],
    num_classes=num_classes,
    critic_steps=config.critic_steps,
    weight_clip=config.weight_clip,
    gradient_penalty_weight=config.gradient_penalty,
    r1_gamma=config.r1_gamma,
    feature_matching=config.feature_matching,
    ema_decay=config.ema_decay,
    packing=config.packing,
  )


def make_gan_train_step(gan: GAN, mesh: jax.sharding.Mesh) -> Callable:
  """The jitted, data-parallel train step of `gan` (`step.make_train_step`)."""
  return step_lib.make_train_step(gan, mesh)


def _create_state_fn(gan: GAN) -> Callable[[jax.Array], state_lib.GANState]:
  return lambda key: state_lib.create_state(
    key,
    generator=gan.generator,
    discriminator=gan.discriminator,
    generator_optimizer=gan.generator_optimizer,
    discriminator_optimizer=gan.discriminator_optimizer,
    latent_dim=gan.latent_dim,
    num_classes=gan.num_classes,
    packing=gan.packing,
    ema=gan.ema_decay > 0,
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


@dataclasses.dataclass(frozen=True)
class SampleGrid:
  """What a run's sample grids are drawn from.

  Attributes:
    latents: (count, latent_dim) noise.
    labels: (count,) class labels of a conditional GAN, else None.
    columns: images per row of the grid.
  """

  latents: jax.Array
  labels: jax.Array | None
  columns: int | None


def sample_grid(
  seed: int, count: int, latent_dim: int, num_classes: int = 0, label: int | None = None
) -> SampleGrid:
  """The fixed inputs of a run's sample grids.

  Unconditional: `count` fixed z. Conditional: one row per class (the first
  `count` classes if there are more), the same z down each column, so a
  column shows one style in every class; or, with `label`, `count` samples
  of that one class.
  """
  if not num_classes:
    return SampleGrid(fixed_latents(seed, count, latent_dim), None, None)
  if label is not None:
    return SampleGrid(
      fixed_latents(seed, count, latent_dim), jnp.full((count,), label, jnp.int32), None
    )
  rows = min(num_classes, count)
  columns = count // rows
  latents = jnp.tile(fixed_latents(seed, columns, latent_dim), (rows, 1))
  labels = jnp.repeat(jnp.arange(rows, dtype=jnp.int32), columns)
  return SampleGrid(latents, labels, columns)


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
_RUN_DEFINING_FIELDS = (
  'model',
  'resolution',
  'latent_dim',
  'dataset',
  'dtype',
  'conditioning',
  'spectral_norm',
  'discriminator_normalization',
  'ema_decay',
  'minibatch_discrimination',
  'minibatch_discrimination_dim',
  'minibatch_stddev',
  'packing',
)


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
  reporter: reporting.Reporter, workdir: str, step: int, samples: jax.Array, columns: int | None
) -> None:
  grid = images.make_grid(np.asarray(jax.device_get(samples)), columns=columns)
  images.save_png(os.path.join(workdir, 'samples', f'step_{step:07d}.png'), grid)
  reporter.image(step, 'samples', grid)


def _evaluate(
  evaluator: evaluation.MNISTEvaluator,
  config: ml_collections.ConfigDict,
  gan: GAN,
  sample: Callable[..., jax.Array],
  step: int,
  workdir: str,
  reporter: reporting.Reporter,
  checkpoint: str | None,
) -> dict:
  """Measures G, logs the figures and writes workdir/metrics.json.

  A conditional G is asked for every class in turn, and the figures gain
  `label_accuracy`: how often the classifier reads the class asked for.
  """
  labels = None
  if gan.num_classes:
    labels = evaluation.balanced_labels(config.eval_samples, gan.num_classes)
  images = evaluation.generate_images(
    sample,
    num_samples=config.eval_samples,
    latent_dim=gan.latent_dim,
    seed=config.seed + 1,
    labels=labels,
  )
  # Label accuracy needs the classifier's classes to be the GAN's.
  results = evaluator(images, labels if gan.num_classes == 10 else None)
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
      generator=(
        f'moving average of G (decay {gan.ema_decay}) with BatchNorm running statistics'
        if gan.ema_decay
        else 'G with BatchNorm running statistics'
      ),
    )
  return {'metrics': results, 'real_vs_real': floor}


@dataclasses.dataclass(frozen=True)
class _Run:
  """A finished or stopped run, read back from its workdir."""

  config: ml_collections.ConfigDict
  dataset: data.DatasetInfo
  gan: GAN
  state: state_lib.GANState
  step: int
  checkpoint: str


def _load_run(
  workdir: str,
  check: Callable[[ml_collections.ConfigDict, data.DatasetInfo], None] = lambda *_: None,
) -> _Run:
  """Reads a workdir's config and restores its latest good checkpoint.

  Args:
    workdir: the run's workdir (it holds config.json and checkpoints/).
    check: raises on a run the caller cannot use, given its config and
      dataset, before anything is restored.

  Raises:
    ValueError: if the workdir holds no run or no checkpoint.
  """
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise ValueError(
      f'{workdir} holds no config.json: it is not a workdir that '
      'train.py wrote. Pass the --workdir of a run.'
    )
  with open(config_path) as f:
    saved = json.load(f)
  if 'generator_loss' in saved:  # The field's name before `loss` took it over.
    saved.setdefault('loss', saved.pop('generator_loss'))
  config = ml_collections.ConfigDict({**_OPTIONS_BEFORE_THEY_EXISTED, **saved})
  dataset = data.dataset_info(config.dataset, data_dir=config.data_dir or None)
  check(config, dataset)
  gan = build_gan(config, dataset.image_shape, dataset.num_classes)
  checkpointer = checkpointing.Checkpointer(
    os.path.join(workdir, 'checkpoints'), max_to_keep=config.keep_checkpoints
  )
  try:
    restored = checkpointer.restore_latest(abstract_state(gan, step_lib.make_data_mesh()))
  finally:
    checkpointer.close()
  if restored is None:
    raise ValueError(f'{workdir}/checkpoints holds no checkpoint to read.')
  state, _ = restored
  step = int(jax.device_get(state.step))
  return _Run(config, dataset, gan, state, step, os.path.join(checkpointer.directory, str(step)))


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
  run = _load_run(
    workdir,
    lambda _, dataset: evaluation.check_evaluable(dataset.image_shape, field='--num_samples'),
  )
  run.config.eval_samples = num_samples or run.config.get('eval_samples', 10_000)
  sample = step_lib.make_sample_fn(run.gan.generator)
  reporter = reporting.Reporter(workdir, first_step=run.step, num_steps=run.step, enabled=False)
  return _evaluate(
    evaluation.MNISTEvaluator(data_dir=run.config.data_dir or None),
    run.config,
    run.gan,
    functools.partial(sample, run.state),
    run.step,
    workdir,
    reporter,
    checkpoint=run.checkpoint,
  )


def sample_checkpoint(
  workdir: str, *, output: str, label: int | None = None, num_samples: int = 64, seed: int = 0
) -> str:
  """Draws a grid of samples from the latest checkpoint of a run into a PNG.

  Args:
    workdir: the run's workdir.
    output: path of the PNG to write.
    label: for a conditional GAN, the class to draw; None draws one row per
      class. Must be None for an unconditional GAN.
    num_samples: images in the grid.
    seed: seed of the noise.

  Returns:
    `output`.

  Raises:
    ValueError: for a label the run cannot draw, before anything is restored.
  """
  if num_samples < 1:
    raise ValueError(f'num_samples = {num_samples} must be at least 1.')

  def check_label(config: ml_collections.ConfigDict, dataset: data.DatasetInfo) -> None:
    if label is None:
      return
    if config.conditioning == 'none':
      raise ValueError(
        f'{workdir} holds an unconditional GAN: it cannot draw class {label}. Leave out --label.'
      )
    if not 0 <= label < dataset.num_classes:
      raise ValueError(
        f'--label={label} is not a class of {config.dataset!r}; choose one of '
        f'0 to {dataset.num_classes - 1}.'
      )

  run = _load_run(workdir, check_label)
  grid = sample_grid(seed, num_samples, run.gan.latent_dim, run.gan.num_classes, label)
  samples = step_lib.make_sample_fn(run.gan.generator)(run.state, grid.latents, grid.labels)
  picture = images.make_grid(np.asarray(jax.device_get(samples)), columns=grid.columns)
  images.save_png(output, picture)
  return output


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
  gan = build_gan(config, dataset.image_shape, dataset.num_classes)
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
  grid = sample_grid(config.seed, config.num_samples, gan.latent_dim, gan.num_classes)
  # (critic_steps, batch, ...): one real batch for each of D's updates.
  batch_sharding = NamedSharding(mesh, P(None, step_lib.DATA_AXIS))
  batch_keys = ('image', 'label') if gan.num_classes else ('image',)
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
        local_batches = [next(batches) for _ in range(gan.critic_steps)]
        batch = {
          key: jax.make_array_from_process_local_data(
            batch_sharding, np.stack([b[key] for b in local_batches])
          )
          for key in batch_keys
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
          samples = sample(state, grid.latents, grid.labels)
          _write_samples(reporter, workdir, step, samples, grid.columns)
        # Not when stopped by a signal: a preempted job has seconds to save.
        if config.eval_every and (step % config.eval_every == 0 or last):
          evaluator = evaluator or evaluation.MNISTEvaluator(data_dir=config.data_dir or None)
          _evaluate(
            evaluator,
            config,
            gan,
            functools.partial(sample, state),
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
