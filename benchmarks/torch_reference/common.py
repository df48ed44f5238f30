"""Pieces the CycleGAN and StyleGAN references share: batches, Adam and its schedule, counts.

Not part of the jaxgan library, and never imported by it or its tests.
"""

import torch
from torch import nn


def to_float_images(images: torch.Tensor) -> torch.Tensor:
  """uint8 [0, 255] -> float32 [-1, 1], as jaxgan's train call converts its batches."""
  return images.float() * (1 / 127.5) - 1.0


def parameter_count(module: nn.Module) -> int:
  """Trainable parameters of a module (buffers, such as a moving average, left out)."""
  return sum(p.numel() for p in module.parameters())


def learning_rate_factor(
  update: int, *, num_steps: int, warmup_steps: int = 0, decay_to_zero_steps: int = 0
) -> float:
  """The rate at optimizer update `update` (0 first) over the base rate, as jaxgan's schedule.

  `jaxgan.train.optimizers.learning_rate_schedule` with one update per train
  step: linear from 0 over the warmup, constant, then linear to 0 over the
  last `decay_to_zero_steps` steps; optax evaluates it at the count of
  updates made before this one, as LambdaLR does at its `last_epoch`.
  """
  if warmup_steps and update < warmup_steps:
    return update / warmup_steps
  decay_start = num_steps - decay_to_zero_steps
  if decay_to_zero_steps and update >= decay_start:
    return max(0.0, 1.0 - (update - decay_start) / decay_to_zero_steps)
  return 1.0


def make_adam(
  parameters,
  *,
  learning_rate: float,
  b1: float,
  b2: float,
  num_steps: int,
  warmup_steps: int = 0,
  decay_to_zero_steps: int = 0,
  fused: bool = False,
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LambdaLR | None]:
  """optax.adam(schedule, b1, b2) as PyTorch's Adam (eps 1e-8 in both), and its LambdaLR.

  The scheduler is None for a constant rate; otherwise call its `step()`
  after each optimizer step.
  """
  options = {'fused': True} if fused else {}
  optimizer = torch.optim.Adam(parameters, lr=learning_rate, betas=(b1, b2), eps=1e-8, **options)
  if not warmup_steps and not decay_to_zero_steps:
    return optimizer, None
  factor = lambda update: learning_rate_factor(
    update,
    num_steps=num_steps,
    warmup_steps=warmup_steps,
    decay_to_zero_steps=decay_to_zero_steps,
  )
  return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def adam_from_config(parameters, settings, *, num_steps: int, fused: bool = False, c: float = 1.0):
  """`make_adam` from a jaxgan optimizer ConfigDict; `c` < 1 is NVlabs' lazy scaling.

  With lazy regularisation every `interval` steps, c = interval / (interval
  + 1) multiplies the rate and raises the betas to the power c, as
  `jaxgan.families.stylegan.lazy_optimizer` does.
  """
  if settings.name != 'adam':
    raise ValueError(f'The reference has Adam only, not {settings.name!r}.')
  return make_adam(
    parameters,
    learning_rate=settings.learning_rate * c,
    b1=settings.b1**c,
    b2=settings.b2**c,
    num_steps=num_steps,
    warmup_steps=settings.get('warmup_steps', 0),
    decay_to_zero_steps=settings.get('decay_to_zero_steps', 0),
    fused=fused,
  )
