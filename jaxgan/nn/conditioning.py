"""Checks shared by the class-conditional generators and discriminators.

A conditional module takes integer class labels next to its usual input:
the generator concatenates a learned label embedding to z (Mirza & Osindero
2014), and the discriminator either concatenates one to its input ('concat')
or adds the projection term <embed(y), phi(x)> to its logit ('projection',
Miyato & Koyama 2018). The modules build those layers themselves; this
module only holds the argument checks, so that every network rejects a
misuse with the same message.
"""

import jax

CONDITIONINGS = ('concat', 'projection')


def check_labels(labels: jax.Array | None, *, num_classes: int, batch: int, module: str) -> None:
  """Raises if `labels` does not fit a module with `num_classes` classes.

  Args:
    labels: the labels passed to the module, or None.
    num_classes: the module's number of classes; 0 means unconditional.
    batch: the batch size of the module's main input.
    module: the module's name, for the error message.

  Raises:
    ValueError: if labels are passed to an unconditional module, are
      missing for a conditional one, or are not of shape (batch,).
  """
  if num_classes == 0 and labels is not None:
    raise ValueError(
      f'{module} is unconditional (num_classes=0) but was given labels; '
      'set num_classes to condition it on them.'
    )
  if num_classes > 0 and labels is None:
    raise ValueError(f'{module} has num_classes={num_classes} and needs labels of shape (batch,).')
  if labels is not None and labels.shape != (batch,):
    raise ValueError(f'{module}: labels must have shape ({batch},), got {labels.shape}.')


def check_conditioning(conditioning: str) -> None:
  """Raises ValueError unless `conditioning` is one of `CONDITIONINGS`."""
  if conditioning not in CONDITIONINGS:
    raise ValueError(f'conditioning must be one of {CONDITIONINGS}, got {conditioning!r}.')


def packing_mixes_labels(packing: int, conditional: bool) -> bool:
  """Whether D would pack samples of several labels into one input.

  PacGAN packs m samples into one input of D; a packed input has m labels,
  and no conditioning scheme here says how to join them, so packing a
  conditional discriminator is refused rather than guessed. The networks
  (`check_packing`) and the classic family's config check both ask this.
  """
  return packing > 1 and conditional


def check_packing(packing: int, *, num_classes: int, module: str) -> None:
  """Raises ValueError if `packing` is not positive or is combined with labels."""
  if packing < 1:
    raise ValueError(f'{module}: packing must be a positive integer, got {packing}.')
  if packing_mixes_labels(packing, num_classes > 0):
    raise ValueError(
      f'{module}: packing={packing} with num_classes={num_classes}: packed samples would '
      'mix labels. Use packing=1 for a conditional discriminator.'
    )
