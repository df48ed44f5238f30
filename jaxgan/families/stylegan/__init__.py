"""StyleGAN (Karras et al. 2019) and StyleGAN2 (Karras et al. 2020).

The networks live in `networks` (mapping, synthesis in both styles,
discriminators, equalised learning-rate layers, resampling filters); the
state, the train step and sampling in `model` (`model.StyleGAN`);
configs/stylegan.py and configs/stylegan2.py list the options. This module
is the family's interface to the training loop (`jaxgan.families`):
`check_config`, `data_streams` and `build`.

StyleGAN and StyleGAN2 are options of one family: `style` ('adain' or
'modulated') picks the synthesis network, `discriminator_architecture`
('orig' or 'resnet') the discriminator, and the regularisers (R1 every step
or lazily, path length, style mixing) are set apart.
"""

import math

import ml_collections

from jaxgan import data
from jaxgan import families
from jaxgan import nn
from jaxgan.families.stylegan import model
from jaxgan.families.stylegan import networks
from jaxgan.nn import convolutions
from jaxgan.train import optimizers

StyleGAN = model.StyleGAN


def _finite(value) -> bool:
  return isinstance(value, (int, float)) and math.isfinite(value)


def check_config(config: ml_collections.ConfigDict, *, device_count: int) -> None:
  """Refuses option values that cannot work, naming the field and the fix.

  Args:
    config: the run's config.
    device_count: devices the global batch is split over (it divides).

  Raises:
    ValueError: naming the field at fault and the fix.
  """
  resolution = config.resolution
  if resolution < 8 or resolution & (resolution - 1):
    raise ValueError(
      f'config.resolution = {resolution} must be a power of 2, at least 8 (e.g. '
      '--config.resolution=32), and the data resized to it.'
    )
  if config.style not in networks.STYLES:
    raise ValueError(
      f'config.style = {config.style!r} is not one of {networks.STYLES}: '
      "'adain' is StyleGAN's synthesis, 'modulated' StyleGAN2's."
    )
  if config.synthesis_architecture not in (None, '', *networks.SYNTHESIS_ARCHITECTURES):
    raise ValueError(
      f'config.synthesis_architecture = {config.synthesis_architecture!r} is not one of '
      f"{networks.SYNTHESIS_ARCHITECTURES} (or '' for the style's default)."
    )
  if config.discriminator_architecture not in networks.DISCRIMINATOR_ARCHITECTURES:
    raise ValueError(
      f'config.discriminator_architecture = {config.discriminator_architecture!r} is not one '
      f'of {networks.DISCRIMINATOR_ARCHITECTURES}.'
    )
  if not (_finite(config.mixing_probability) and 0 <= config.mixing_probability <= 1):
    raise ValueError(
      f'config.mixing_probability = {config.mixing_probability} must be in [0, 1] '
      '(0.9 in both papers, 0 turns style mixing off).'
    )
  if not _finite(config.truncation_psi):
    raise ValueError(
      f'config.truncation_psi = {config.truncation_psi} must be a number (1: no truncation, '
      '0.7 as NVlabs shows its figures).'
    )
  num_ws = networks.num_ws(resolution)
  if not 0 <= config.truncation_cutoff <= num_ws:
    raise ValueError(
      f'config.truncation_cutoff = {config.truncation_cutoff} must be 0 (truncate every layer) '
      f'up to num_ws = {num_ws} at resolution {resolution}.'
    )
  for field, least in (
    ('z_dim', 1),
    ('w_dim', 1),
    ('mapping_layers', 1),
    ('fmap_max', 1),
    ('mbstd_group_size', 0),
    ('mbstd_num_features', 1),
    ('r1_interval', 1),
    ('path_length_interval', 1),
    ('path_length_batch_shrink', 1),
  ):
    if config[field] < least:
      raise ValueError(f'config.{field} = {config[field]} must be at least {least}.')
  if config.fmap_base < 0:
    raise ValueError(
      f"config.fmap_base = {config.fmap_base} must be 0 (the reference's default) or positive."
    )
  for field in ('r1_gamma', 'path_length_weight'):
    if not (_finite(config[field]) and config[field] >= 0):
      raise ValueError(f'config.{field} = {config[field]} must be 0 (off) or a positive number.')
  for field in ('w_avg_decay', 'path_length_decay'):
    if not (_finite(config[field]) and 0 <= config[field] <= 1):
      raise ValueError(
        f'config.{field} = {config[field]} must be in [0, 1] (0.995 and 0.01 in NVlabs).'
      )
  if not (_finite(config.ema_kimg) and config.ema_kimg > 0):
    raise ValueError(
      f"config.ema_kimg = {config.ema_kimg} must be positive: the half-life of G's moving "
      'average in thousands of images (10 in NVlabs).'
    )
  if not (_finite(config.ema_rampup) and config.ema_rampup >= 0):
    raise ValueError(
      f'config.ema_rampup = {config.ema_rampup} must be 0 (off) or positive (0.05 in '
      'StyleGAN2-ADA).'
    )
  if config.dtype not in nn.DTYPES:
    raise ValueError(
      f'config.dtype = {config.dtype!r} is not one of {tuple(nn.DTYPES)}: what the '
      'layers compute in (parameters stay float32).'
    )
  if config.conv_implementation not in convolutions.IMPLEMENTATIONS:
    raise ValueError(
      f'config.conv_implementation = {config.conv_implementation!r} is not one of '
      f'{convolutions.IMPLEMENTATIONS}.'
    )
  local_batch = config.batch_size // device_count
  group = min(config.mbstd_group_size, local_batch)
  if group and local_batch % group:
    raise ValueError(
      f'config.mbstd_group_size = {config.mbstd_group_size} must divide the batch of each '
      f'device ({local_batch}); set it to a divisor, or 0 to leave the layer out.'
    )
  for field in ('generator_optimizer', 'discriminator_optimizer'):
    optimizers.check_optimizer(config[field], field=field, num_steps=config.num_steps)


def data_streams(config: ml_collections.ConfigDict) -> dict[str, families.DataStream]:
  """One stream of real images, one batch per step."""
  return {model.REAL: families.DataStream(spec=data.DataSpec.from_config(config.data))}


def lazy_optimizer(settings: ml_collections.ConfigDict, *, interval: int, num_steps: int):
  """An optimizer for a network regularised every `interval` steps (NVlabs' lazy regularisation).

  With interval > 1 the network takes interval + 1 optimizer updates every
  `interval` steps (the regulariser's update is one of its own), so the
  learning rate is multiplied by c = interval / (interval + 1) and Adam's
  betas raised to the power c, as NVlabs does, so that the regularised run
  follows the plain one's schedule; a warm-up or decay, counted in updates,
  is stretched by 1 / c likewise.
  """
  if interval <= 1:
    return optimizers.make_optimizer(settings, num_steps=num_steps)
  c = interval / (interval + 1)
  settings = ml_collections.ConfigDict(settings.to_dict())
  settings.learning_rate = settings.learning_rate * c
  settings.b1, settings.b2 = settings.b1**c, settings.b2**c
  return optimizers.make_optimizer(settings, num_steps=num_steps, updates_per_step=1 / c)


def build(
  config: ml_collections.ConfigDict, datasets: dict[str, data.DatasetInfo]
) -> model.StyleGAN:
  """Maps the config to the networks, optimizers and regularisers for the dataset's images.

  Raises:
    ValueError: if the images are not square images of `config.resolution`.
  """
  info = datasets[model.REAL]
  source = f'config.data.source = {config.data.source!r}'
  if info.feature != 'image':
    raise ValueError(f'{source} holds {info.feature}s, not images; StyleGAN trains on images.')
  height, width, channels = info.shape
  size = config.resolution
  if (height, width) != (size, size):
    # Smaller images, as MNIST's 28x28 at 32, keep their pixels when padded.
    fit = (
      f'pad the data to it (--config.data.pad={size}) or resize it'
      if max(height, width) < size
      else 'resize the data to it'
    )
    raise ValueError(
      f'config.resolution = {size} builds StyleGAN for {size}x{size} images, but {source} '
      f'gives {height}x{width} images. Set --config.resolution to a power of 2 and {fit} '
      f'(--config.data.resize={size} --config.data.center_crop={size}).'
    )
  fmap_base = config.fmap_base or None
  mapping = networks.MappingNetwork(
    z_dim=config.z_dim,
    w_dim=config.w_dim,
    num_layers=config.mapping_layers,
    lr_multiplier=config.mapping_lr_multiplier,
    gain_after_activation=config.style == 'modulated',
  )
  synthesis = networks.SynthesisNetwork(
    resolution=size,
    channels=channels,
    style=config.style,
    architecture=config.synthesis_architecture or None,
    fmap_base=fmap_base,
    fmap_max=config.fmap_max,
    conv_implementation=config.conv_implementation,
    dtype=nn.DTYPES[config.dtype],
  )
  discriminator = networks.Discriminator(
    resolution=size,
    channels=channels,
    architecture=config.discriminator_architecture,
    fmap_base=fmap_base,
    fmap_max=config.fmap_max,
    mbstd_group_size=config.mbstd_group_size,
    mbstd_num_features=config.mbstd_num_features,
    conv_implementation=config.conv_implementation,
    dtype=nn.DTYPES[config.dtype],
  )
  path_length = config.path_length_weight > 0
  return model.StyleGAN(
    mapping=mapping,
    synthesis=synthesis,
    discriminator=discriminator,
    generator_optimizer=lazy_optimizer(
      config.generator_optimizer,
      interval=config.path_length_interval if path_length else 1,
      num_steps=config.num_steps,
    ),
    discriminator_optimizer=lazy_optimizer(
      config.discriminator_optimizer,
      interval=config.r1_interval if config.r1_gamma else 1,
      num_steps=config.num_steps,
    ),
    image_shape=info.shape,
    global_batch=config.batch_size,
    r1_gamma=config.r1_gamma,
    r1_interval=config.r1_interval,
    path_length_weight=config.path_length_weight,
    path_length_interval=config.path_length_interval,
    path_length_decay=config.path_length_decay,
    path_length_batch_shrink=config.path_length_batch_shrink,
    mixing_probability=config.mixing_probability,
    w_avg_decay=config.w_avg_decay,
    ema_kimg=config.ema_kimg,
    ema_rampup=config.ema_rampup or None,
    truncation_psi=config.truncation_psi,
    truncation_cutoff=config.truncation_cutoff or None,
  )
