"""The classic GAN family: one G(z, y), one D(x, y), one stream of real images.

The vanilla GAN (MLPs), DCGAN, the conditional GAN (concat or projection),
WGAN and WGAN-GP, LSGAN, hinge loss with spectral normalisation, R1, a
moving average of G, and the remedies for mode collapse (minibatch
discrimination and stddev, packing, feature matching), all as options of
one model and one step (`model.GAN`, `step.train_step`); `configs/gan.py`
lists them. This module is the family's interface to the training loop
(`jaxgan.families`): `check_config`, `data_streams` and `build`.
"""

import ml_collections

from jaxgan import data
from jaxgan import families
from jaxgan import nn
from jaxgan import parallel
from jaxgan.families.classic import dcgan
from jaxgan.families.classic import mlp
from jaxgan.families.classic import model
from jaxgan.families.classic import options
from jaxgan.families.classic import step
from jaxgan.losses import adversarial
from jaxgan.train import optimizers

GAN = model.GAN
DCGAN_PRESETS = {
  28: (dcgan.Generator28, dcgan.Discriminator28),
  64: (dcgan.Generator64, dcgan.Discriminator64),
}


def scale_widths(widths: tuple[int, ...], multiplier: float) -> tuple[int, ...]:
  """Each layer's width (channels or units) times `multiplier`, rounded, at least 1."""
  return tuple(max(1, round(width * multiplier)) for width in widths)


def check_config(config: ml_collections.ConfigDict, *, device_count: int) -> None:
  """Refuses option values and combinations that cannot work (`options`).

  Args:
    config: the run's config.
    device_count: devices the global batch is split over (it divides).

  Raises:
    ValueError: naming the field at fault and the fix.
  """
  local_batch = config.batch_size // device_count
  mixing = options.check_network_options(config, local_batch=local_batch)
  options.check_step_options(config, local_batch=local_batch, mixing=mixing)


def data_streams(config: ml_collections.ConfigDict) -> dict[str, families.DataStream]:
  """One stream of real images, one batch per critic step; labels if conditional."""
  return {
    step.REAL: families.DataStream(
      spec=data.DataSpec.from_config(config.data),
      batches_per_step=config.critic_steps,
      with_labels=config.conditioning != 'none',
    )
  }


def make_optimizers(config: ml_collections.ConfigDict):
  """G's and D's optax transforms; D's schedule counts its critic updates as one step."""
  return (
    optimizers.make_optimizer(config.generator_optimizer, num_steps=config.num_steps),
    optimizers.make_optimizer(
      config.discriminator_optimizer,
      num_steps=config.num_steps,
      updates_per_step=config.critic_steps,
    ),
  )


def step_options(config: ml_collections.ConfigDict) -> dict:
  """The `GAN` fields that the step's options set, shared with the toy 2-D family."""
  generator_optimizer, discriminator_optimizer = make_optimizers(config)
  return dict(
    generator_optimizer=generator_optimizer,
    discriminator_optimizer=discriminator_optimizer,
    latent_dim=config.latent_dim,
    loss=adversarial.ADVERSARIAL_LOSSES[config.loss],
    critic_steps=config.critic_steps,
    weight_clip=config.weight_clip,
    gradient_penalty_weight=config.gradient_penalty,
    r1_gamma=config.r1_gamma,
    feature_matching=config.feature_matching,
    ema_decay=config.ema_decay,
    generator_reuses_fakes=config.generator_reuses_fakes,
    simultaneous_updates=config.simultaneous_updates,
    packing=config.packing,
    generator_passes=config.generator_passes,
  )


def build(config: ml_collections.ConfigDict, datasets: dict[str, data.DatasetInfo]) -> model.GAN:
  """Maps the config to networks, optimizers and options for the dataset's images.

  Raises:
    ValueError: if the model cannot make images of the dataset's shape, or
      is conditional and the dataset has no labels.
  """
  info = datasets[step.REAL]
  source = f'config.data.source = {config.data.source!r}'
  if info.feature != 'image':
    raise ValueError(
      f'{source} holds {info.feature}s, not images; the classic family trains on images '
      '(the toy2d family trains on 2-D points).'
    )
  dtype = nn.DTYPES[config.dtype]
  height, width, channels = info.shape
  conditional = config.conditioning != 'none'
  if conditional and not info.num_classes:
    raise ValueError(
      f'config.conditioning = {config.conditioning!r} needs class labels, but {source} has '
      f'none. Use a labelled dataset (a folder with one subfolder per class), or '
      f'--config.conditioning=none.'
    )
  num_classes = info.num_classes if conditional else 0
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
      image_shape=info.shape,
      hidden_features=scale_widths(mlp.MLPGenerator.hidden_features, config.generator_width),
      num_classes=num_classes,
      batch_norm_axis_name=parallel.DATA_AXIS,
      dtype=dtype,
    )
    discriminator = mlp.MLPDiscriminator(
      hidden_features=scale_widths(
        mlp.MLPDiscriminator.hidden_features, config.discriminator_width
      ),
      **discriminator_options,
    )
  else:
    generator_preset, discriminator_preset = DCGAN_PRESETS[config.resolution]
    generator = generator_preset(
      features=scale_widths(generator_preset.keywords['features'], config.generator_width),
      channels=channels,
      num_classes=num_classes,
      conv_implementation=config.conv_implementation,
      batch_norm_axis_name=parallel.DATA_AXIS,
      dtype=dtype,
    )
    discriminator = discriminator_preset(
      features=scale_widths(discriminator_preset.keywords['features'], config.discriminator_width),
      normalization=config.discriminator_normalization,
      conv_implementation=config.conv_implementation,
      batch_norm_axis_name=parallel.DATA_AXIS,
      **discriminator_options,
    )
    if generator.image_shape != info.shape:
      size = config.resolution
      raise ValueError(
        f'config.resolution = {size} builds the DCGAN for {size}x{size} images, but '
        f'{source} gives {height}x{width} images. Choose the network that fits, '
        f'--config.resolution={height}, or resize the data to it '
        f'(--config.data.resize={size} --config.data.center_crop={size}).'
        if height == width and height in DCGAN_PRESETS
        else f'{source} gives {height}x{width} images; the DCGAN networks make 28x28 '
        f'(--config.resolution=28) or 64x64 (--config.resolution=64) images. Resize the '
        f'data to one of those: --config.data.resize={size} --config.data.center_crop={size}.'
      )
  return model.GAN(
    generator=generator,
    discriminator=discriminator,
    num_classes=num_classes,
    **step_options(config),
  )
