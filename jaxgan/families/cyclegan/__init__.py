"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation.

Two generators (G: A -> B, F: B -> A; ResNet generators of `networks`), two
70x70 PatchGAN discriminators, least-squares adversarial losses, cycle
consistency and identity losses (`losses`), and an image pool per
discriminator (`image_pool`), as junyanz/pytorch-CycleGAN-and-pix2pix
defines them; `model.CycleGAN` is the family's model, `configs/cyclegan.py`
lists its options.

Data: one source with CycleGAN's four splits, trainA, trainB, testA and
testB: a folder laid out as the reference's datasets
(`datasets/horse2zebra/trainA/...`), a TFDS dataset with those splits
(`cycle_gan/horse2zebra`), or the bundled `mnist2textured`. The family trains
on two unpaired streams, 'a' and 'b', each with its own position in the
checkpoint, and draws its sample grids from the test splits.

This module is the family's interface to the training loop
(`jaxgan.families`): `check_config`, `data_streams` and `build`.
"""

import dataclasses
import math
import os

from etils import epath
import ml_collections

from jaxgan import data
from jaxgan import families
from jaxgan.families.cyclegan import model
from jaxgan.families.cyclegan import networks
from jaxgan.families.cyclegan import test_sets
from jaxgan.losses import adversarial
from jaxgan.nn import convolutions
from jaxgan.train import optimizers

CycleGAN = model.CycleGAN
DOMAINS = (model.A, model.B)


def check_config(config: ml_collections.ConfigDict, *, device_count: int) -> None:
  """Refuses option values that cannot work, naming the field and the fix."""
  del device_count  # Any global batch that divides over the devices works.
  if config.loss not in adversarial.ADVERSARIAL_LOSSES:
    raise ValueError(
      f'config.loss = {config.loss!r} is not one of '
      f'{", ".join(map(repr, adversarial.ADVERSARIAL_LOSSES))}; CycleGAN uses least_squares.'
    )
  for field in ('cycle_weight_a', 'cycle_weight_b', 'identity_weight'):
    if not (math.isfinite(config[field]) and config[field] >= 0):
      raise ValueError(f'config.{field} = {config[field]} must be 0 (off) or a positive number.')
  for field, least in (
    ('pool_size', 0),
    ('generator_blocks', 0),
    ('generator_filters', 1),
    ('discriminator_filters', 1),
    ('discriminator_layers', 1),
  ):
    if config[field] < least:
      raise ValueError(f'config.{field} = {config[field]} must be at least {least}.')
  if config.conv_implementation not in convolutions.IMPLEMENTATIONS:
    raise ValueError(
      f'config.conv_implementation = {config.conv_implementation!r} is not one of '
      f'{convolutions.IMPLEMENTATIONS}.'
    )
  for field in ('generator_optimizer', 'discriminator_optimizer'):
    optimizers.check_optimizer(config[field], field=field, num_steps=config.num_steps)


def domain_spec(config_data: ml_collections.ConfigDict, domain: str, split: str) -> data.DataSpec:
  """The spec of one domain's split ('train' + 'A' is trainA) of `config.data`.

  A folder holds the split as a subfolder (`source/trainA`); a TFDS or
  bundled dataset as a split of that name.

  Raises:
    ValueError: if a folder lacks the subfolder.
  """
  spec = data.DataSpec.from_config(config_data)
  name = f'{split}{domain.upper()}'
  if not data.sources.is_folder(spec.source):
    return dataclasses.replace(spec, split=name)
  folder = f'{spec.source.rstrip("/")}/{name}'
  if not epath.Path(os.path.expanduser(folder)).is_dir():
    raise ValueError(
      f'config.data.source = {spec.source!r} has no folder {name}/: CycleGAN reads a folder '
      "laid out as the reference's datasets, with trainA/, trainB/, testA/ and testB/ "
      'inside. Point it at such a folder'
      + (
        ''
        if split == 'train'
        else ', or draw grids from training images: --config.data.test_split=train'
      )
      + '.'
    )
  return dataclasses.replace(spec, source=folder)


def test_specs(config: ml_collections.ConfigDict) -> dict[str, data.DataSpec]:
  """Where each domain's test images are (testA, testB), read as `test_sets` reads them."""
  return {
    domain: test_sets.test_spec(domain_spec(config.data, domain, config.data.test_split))
    for domain in DOMAINS
  }


def data_streams(config: ml_collections.ConfigDict) -> dict[str, families.DataStream]:
  """Two unpaired streams of images, 'a' (trainA) and 'b' (trainB).

  The test splits the sample grids come from are checked here too, before
  anything is written: they must be there and give images of the training
  images' shape.

  Raises:
    ValueError: for a missing split, or test images of another shape.
  """
  streams = {
    domain: families.DataStream(spec=domain_spec(config.data, domain, config.data.split))
    for domain in DOMAINS
  }
  for domain, spec in test_specs(config).items():
    train_shape = data.dataset_info(streams[domain].spec).shape
    shape = data.dataset_info(spec).shape
    if shape != train_shape:
      raise ValueError(
        f'The test images of domain {domain.upper()} ({spec.source}, split {spec.split}) are '
        f'{shape} after the test transforms (resize {spec.transforms.resize}, centre crop '
        f'{spec.transforms.center_crop}), but training images are {train_shape}: crop both to '
        'one square, --config.data.random_crop=SIDE.'
      )
  return streams


def build(
  config: ml_collections.ConfigDict, datasets: dict[str, data.DatasetInfo]
) -> model.CycleGAN:
  """The networks, optimizers and losses for images of the two domains' shapes.

  Raises:
    ValueError: if the domains' images differ in size, a side is not a
      multiple of 4, or the identity loss is asked between domains of
      different channels.
  """
  shape_a, shape_b = datasets[model.A].shape, datasets[model.B].shape
  for info in datasets.values():
    if info.feature != 'image':
      raise ValueError(
        f'config.data.source = {config.data.source!r} holds {info.feature}s; CycleGAN '
        'translates images.'
      )
  if shape_a[:2] != shape_b[:2]:
    raise ValueError(
      f"The domains' images differ in size ({shape_a[0]}x{shape_a[1]} in A, {shape_b[0]}x"
      f'{shape_b[1]} in B); crop both to one square: --config.data.random_crop=SIDE.'
    )
  height, width = shape_a[:2]
  if height % networks.SIDE_MULTIPLE or width % networks.SIDE_MULTIPLE:
    raise ValueError(
      f'The ResNet generator takes images whose sides are multiples of {networks.SIDE_MULTIPLE}; these '
      f'are {height}x{width}. Crop them to one: --config.data.random_crop='
      f'{min(height, width) // networks.SIDE_MULTIPLE * networks.SIDE_MULTIPLE}.'
    )
  if config.identity_weight and shape_a[2] != shape_b[2]:
    raise ValueError(
      f'config.identity_weight = {config.identity_weight} compares G(b) with b, which needs '
      f'both domains in the same channels; A has {shape_a[2]} and B {shape_b[2]}. Set '
      '--config.identity_weight=0 (as the reference requires), or --config.data.channels=3.'
    )
  tests = test_specs(config)
  generator = lambda channels: networks.ResnetGenerator(
    out_channels=channels,
    filters=config.generator_filters,
    num_blocks=config.generator_blocks,
    conv_implementation=config.conv_implementation,
  )
  discriminator = networks.PatchDiscriminator(
    filters=config.discriminator_filters,
    num_layers=config.discriminator_layers,
    conv_implementation=config.conv_implementation,
  )
  return model.CycleGAN(
    generator_ab=generator(shape_b[2]),
    generator_ba=generator(shape_a[2]),
    discriminator_a=discriminator,
    discriminator_b=discriminator,
    generator_optimizer=optimizers.make_optimizer(
      config.generator_optimizer, num_steps=config.num_steps
    ),
    discriminator_optimizer=optimizers.make_optimizer(
      config.discriminator_optimizer, num_steps=config.num_steps
    ),
    image_shape_a=shape_a,
    image_shape_b=shape_b,
    global_batch=config.batch_size,
    loss=config.loss,
    cycle_weight_a=config.cycle_weight_a,
    cycle_weight_b=config.cycle_weight_b,
    identity_weight=config.identity_weight,
    pool_size=config.pool_size,
    test_a=tests[model.A],
    test_b=tests[model.B],
  )
