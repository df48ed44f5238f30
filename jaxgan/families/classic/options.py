"""The classic family's options: what the config may say, checked before anything runs.

The step's options (loss, critic steps, D's constraints and penalties, the
moving average, feature matching, packing, minibatch discrimination, the
optimizers) are shared with the toy 2-D family, which trains its networks
with the same step; `check_step_options` checks them for both. The image
networks' options (model, resolution, widths, conditioning, D's normalisation,
spectral norm, minibatch stddev, dtype) are checked by `check_network_options`.
"""

import ml_collections

from jaxgan import nn
from jaxgan.families.classic import dcgan
from jaxgan.families.classic import step as step_lib
from jaxgan.losses import adversarial
from jaxgan.nn import conditioning
from jaxgan.nn import convolutions
from jaxgan.train import optimizers

MODELS = ('gan', 'dcgan')
# 'none', or how labels enter G and D.
CONDITIONINGS = ('none',) + conditioning.CONDITIONINGS
DCGAN_RESOLUTIONS = (28, 64)
DTYPES = tuple(nn.DTYPES)


def choice_error(field: str, value, choices) -> ValueError:
  """The error for a value that is not one of `choices`, naming the first as the fix."""
  return ValueError(
    f'config.{field} = {value!r} is not one jaxgan knows. Choose one of '
    f'{", ".join(repr(c) for c in choices)}, e.g. --config.{field}='
    f'{next(iter(choices))}.'
  )


def _at_least(config: ml_collections.ConfigDict, minimum: int, fields: tuple[str, ...]) -> None:
  for field in fields:
    if config[field] < minimum:
      raise ValueError(
        f'config.{field} = {config[field]} must be at least {minimum}'
        + (' (0 turns it off).' if minimum == 0 else '.')
      )


def check_step_options(
  config: ml_collections.ConfigDict, *, local_batch: int, mixing: tuple[str, ...] = ()
) -> None:
  """Refuses step options that cannot work, naming the field and the fix.

  Args:
    config: the run's config.
    local_batch: examples of each global batch on one device.
    mixing: settings (as 'field = value') of the network options that make
      D mix the samples of a batch, which the penalties cannot work with.

  Raises:
    ValueError: naming the field at fault and the fix.
  """
  if config.loss not in adversarial.ADVERSARIAL_LOSSES:
    raise choice_error('loss', config.loss, adversarial.ADVERSARIAL_LOSSES)
  if config.feature_matching not in step_lib.FEATURE_MATCHING:
    raise choice_error('feature_matching', config.feature_matching, step_lib.FEATURE_MATCHING)
  _at_least(
    config,
    1,
    ('latent_dim', 'critic_steps', 'packing', 'generator_passes', 'minibatch_discrimination_dim'),
  )
  _at_least(config, 0, ('weight_clip', 'gradient_penalty', 'r1_gamma', 'minibatch_discrimination'))
  if not 0 <= config.ema_decay < 1:
    raise ValueError(
      f'config.ema_decay = {config.ema_decay} must be in [0, 1): 0 turns the moving '
      'average off; 0.999 is a common choice.'
    )
  if config.generator_reuses_fakes and config.critic_steps != 1:
    raise ValueError(
      f'config.generator_reuses_fakes = True reuses the fakes of a single D update, '
      f'but config.critic_steps = {config.critic_steps}: set --config.critic_steps=1 '
      'or --config.generator_reuses_fakes=False.'
    )
  if config.simultaneous_updates and not config.generator_reuses_fakes:
    raise ValueError(
      'config.simultaneous_updates = True takes both gradients from one pass of G, but '
      'config.generator_reuses_fakes = False draws fresh z for G: set '
      '--config.generator_reuses_fakes=True as well, or --config.simultaneous_updates=False.'
    )
  for field in ('generator_optimizer', 'discriminator_optimizer'):
    optimizers.check_optimizer(config[field], field=field, num_steps=config.num_steps)
  if local_batch % config.packing:
    raise ValueError(
      f'config.packing = {config.packing} does not divide the batch of each device '
      f'({local_batch}): D packs the samples of each device in groups of '
      f'{config.packing}. Use a config.batch_size that is a multiple of '
      f'{config.packing} times the number of devices.'
    )
  if local_batch % config.generator_passes:
    raise ValueError(
      f'config.generator_passes = {config.generator_passes} does not divide the batch of each '
      f'device ({local_batch}): each pass makes an equal share of it. Use a config.batch_size '
      f'that is a multiple of {config.generator_passes} times the number of devices, or '
      '--config.generator_passes=1.'
    )
  penalties = [f for f in ('gradient_penalty', 'r1_gamma') if config[f]]
  mixing = list(mixing)
  if config.minibatch_discrimination:
    mixing.append(f'minibatch_discrimination = {config.minibatch_discrimination}')
  if config.packing > 1:
    mixing.append(f'packing = {config.packing}')
  if penalties and mixing:
    # Both penalties take each sample's own input gradient from one backward
    # pass, which is only right when D judges every sample on its own.
    raise ValueError(
      f'config.{penalties[0]} needs a D that judges each sample on its own, but '
      f'config.{", config.".join(mixing)} makes D mix the samples of a batch. Turn '
      f'those off (for DCGAN use --config.discriminator_normalization=layer_norm, '
      f'as WGAN-GP does).'
    )
  if config.loss == 'wasserstein' and not (
    config.weight_clip or config.gradient_penalty or config.get('spectral_norm', False)
  ):
    raise ValueError(
      "config.loss = 'wasserstein' needs D kept Lipschitz, or its loss grows without "
      'bound: set --config.weight_clip=0.01 (WGAN), --config.gradient_penalty=10 '
      '(WGAN-GP) or --config.spectral_norm=True.'
    )


def check_network_options(
  config: ml_collections.ConfigDict, *, local_batch: int
) -> tuple[str, ...]:
  """Refuses image-network options that cannot work.

  Returns:
    The settings that make D mix the samples of a batch, for
    `check_step_options`.

  Raises:
    ValueError: naming the field at fault and the fix.
  """
  for field, choices in (
    ('model', MODELS),
    ('conditioning', CONDITIONINGS),
    ('discriminator_normalization', dcgan.NORMALIZATIONS),
    ('dtype', DTYPES),
    ('conv_implementation', convolutions.IMPLEMENTATIONS),
  ):
    if config[field] not in choices:
      raise choice_error(field, config[field], choices)
  if config.model == 'dcgan' and config.resolution not in DCGAN_RESOLUTIONS:
    raise choice_error('resolution', config.resolution, DCGAN_RESOLUTIONS)
  for field in ('generator_width', 'discriminator_width'):
    if not config[field] > 0:
      raise ValueError(
        f'config.{field} = {config[field]} must be positive: it multiplies the width of '
        f"each layer of the paper's network (1.0 = as published, 0.5 = half as wide)."
      )
  _at_least(config, 0, ('minibatch_stddev',))
  group = config.minibatch_stddev
  packed_batch = local_batch // config.packing
  if group and packed_batch > group and packed_batch % group:
    raise ValueError(
      f'config.minibatch_stddev = {group} does not divide the {packed_batch} samples D sees '
      f'on each device; use a group size that divides it, e.g. --config.minibatch_stddev=4 '
      f'with a batch size that is a multiple of 4 x packing x devices.'
    )
  if conditioning.packing_mixes_labels(config.packing, config.conditioning != 'none'):
    raise ValueError(
      f'config.packing = {config.packing} with config.conditioning = '
      f'{config.conditioning!r}: packed samples would mix labels. Use one of the two '
      '(--config.packing=1, or --config.conditioning=none).'
    )
  mixing = [f'minibatch_stddev = {group}'] if group else []
  if config.model == 'dcgan' and config.discriminator_normalization == 'batch_norm':
    mixing.append("discriminator_normalization = 'batch_norm'")
  return tuple(mixing)
