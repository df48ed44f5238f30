"""Optimizers from a config, with learning-rate schedules.

Every network's optimizer is a ConfigDict (`configs/default.py`
`optimizer_config`) with fields

  name: 'adam' or 'rmsprop' (PyTorch's form, as WGAN ran it: eps outside
    the square root).
  learning_rate, b1, b2 (Adam), decay (RMSProp's moving-average weight).
  warmup_steps: the rate rises linearly from 0 over the first N train steps.
  decay_to_zero_steps: the rate falls linearly to 0 over the last N train
    steps of `config.num_steps` (CycleGAN: the second half of training).

Schedules count train steps, not optimizer updates: a D that takes 5
updates per train step (WGAN's critic steps) follows the same schedule as
its G. With neither warmup nor decay the rate is a constant float, so the
optimizer is exactly optax's plain one.
"""

import math

import ml_collections
import optax

OPTIMIZERS = ('adam', 'rmsprop')


def check_optimizer(settings: ml_collections.ConfigDict, *, field: str, num_steps: int) -> None:
  """Raises ValueError, naming `field` and the fix, for settings that cannot work."""
  if settings.name not in OPTIMIZERS:
    raise ValueError(
      f'config.{field}.name = {settings.name!r} is not one jaxgan knows; choose one of '
      f'{", ".join(map(repr, OPTIMIZERS))}, e.g. --config.{field}.name=adam.'
    )
  if not (math.isfinite(settings.learning_rate) and settings.learning_rate > 0):
    raise ValueError(
      f'config.{field}.learning_rate = {settings.learning_rate} must be a positive number.'
    )
  for name in ('b1', 'b2', 'decay'):
    value = settings.get(name, 0.0)
    if not 0 <= value < 1:
      raise ValueError(f'config.{field}.{name} = {value} must be in [0, 1).')
  warmup, decay = settings.get('warmup_steps', 0), settings.get('decay_to_zero_steps', 0)
  if warmup < 0 or decay < 0:
    raise ValueError(
      f'config.{field}.warmup_steps = {warmup} and decay_to_zero_steps = {decay} must be 0 '
      '(off) or more.'
    )
  if warmup + decay > num_steps:
    raise ValueError(
      f'config.{field}: warmup_steps ({warmup}) and decay_to_zero_steps ({decay}) add up to '
      f'more than config.num_steps = {num_steps}; shorten them, e.g. '
      f'--config.{field}.decay_to_zero_steps={max(num_steps - warmup, 0)}.'
    )


def learning_rate_schedule(
  settings: ml_collections.ConfigDict, *, num_steps: int, updates_per_step: float = 1
) -> float | optax.Schedule:
  """The learning rate as optax takes it: a float, or a schedule of the update count.

  Args:
    settings: the optimizer's ConfigDict.
    num_steps: the run's length in train steps (`config.num_steps`).
    updates_per_step: optimizer updates per train step (D's critic steps;
      (interval + 1) / interval for StyleGAN2's lazily regularised networks),
      by which the schedule's lengths in steps become counts of updates,
      rounded.
  """
  rate = settings.learning_rate
  warmup, decay = settings.get('warmup_steps', 0), settings.get('decay_to_zero_steps', 0)
  if not warmup and not decay:
    return rate
  updates = lambda steps: round(steps * updates_per_step)
  pieces, boundaries = [], []
  if warmup:
    pieces.append(optax.linear_schedule(0.0, rate, updates(warmup)))
    boundaries.append(updates(warmup))
  constant = num_steps - warmup - decay
  if constant:
    pieces.append(optax.constant_schedule(rate))
    boundaries.append(updates(warmup + constant))
  if decay:
    pieces.append(optax.linear_schedule(rate, 0.0, updates(num_steps) - updates(num_steps - decay)))
  else:
    boundaries.pop()
  return optax.join_schedules(pieces, boundaries) if len(pieces) > 1 else pieces[0]


def make_optimizer(
  settings: ml_collections.ConfigDict, *, num_steps: int, updates_per_step: float = 1
) -> optax.GradientTransformation:
  """The optax transform that `settings` describes (see the module docstring)."""
  rate = learning_rate_schedule(settings, num_steps=num_steps, updates_per_step=updates_per_step)
  if settings.name == 'rmsprop':
    return optax.rmsprop(rate, decay=settings.decay, eps=1e-8, eps_in_sqrt=False)
  return optax.adam(rate, b1=settings.b1, b2=settings.b2)
