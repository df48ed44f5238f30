"""Tests of the classic family's option checks and of `build` against the data."""

import glob
import importlib
import os

import pytest

from configs import cgan as cgan_config
from configs import dcgan as dcgan_config
from configs import gan as gan_config
from configs import wgan_gp as wgan_gp_config
from jaxgan import data
from jaxgan.families import classic
from jaxgan.families.classic import options
from jaxgan.losses import adversarial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The shipped configs of the classic family (the others, CycleGAN's and
# StyleGAN's, have tests of their own).
SHIPPED_CONFIGS = sorted(
  os.path.splitext(os.path.basename(path))[0]
  for path in glob.glob(os.path.join(ROOT, 'configs', '*.py'))
  if not os.path.basename(path).startswith(('_', 'default', 'cyclegan', 'stylegan'))
)


def config_with(base=gan_config, **overrides):
  """A shipped config with `overrides`; a dotted name sets a nested field."""
  config = base.get_config()
  config.update_from_flattened_dict(overrides)
  return config


def refusal(config, device_count=1) -> str:
  with pytest.raises(ValueError) as error:
    classic.check_config(config, device_count=device_count)
  return str(error.value)


# (overrides, what the message must say: the field and its fix).
MISTAKES = {
  'model': (dict(model='wgan'), ["config.model = 'wgan'", '--config.model=gan']),
  'loss': (dict(loss='hinge_loss'), ["config.loss = 'hinge_loss'", '--config.loss=non_saturating']),
  'conditioning': (
    dict(conditioning='label'),
    ["config.conditioning = 'label'", '--config.conditioning=none'],
  ),
  'normalization': (
    dict(model='dcgan', discriminator_normalization='group_norm'),
    [
      "config.discriminator_normalization = 'group_norm'",
      '--config.discriminator_normalization=batch_norm',
    ],
  ),
  'width': (
    dict(discriminator_width=-0.5),
    ['config.discriminator_width = -0.5 must be positive', '1.0 = as published'],
  ),
  'reused_fakes': (
    dict(generator_reuses_fakes=True, critic_steps=5),
    ['config.critic_steps = 5', '--config.critic_steps=1'],
  ),
  'simultaneous_updates': (
    dict(simultaneous_updates=True),
    ['config.simultaneous_updates = True', '--config.generator_reuses_fakes=True'],
  ),
  'dtype': (dict(dtype='float16'), ["config.dtype = 'float16'", '--config.dtype=float32']),
  'conv_implementation': (
    dict(conv_implementation='magic'),
    ["config.conv_implementation = 'magic'", '--config.conv_implementation=auto'],
  ),
  'feature_matching': (
    dict(feature_matching='sometimes'),
    ["config.feature_matching = 'sometimes'", '--config.feature_matching=none'],
  ),
  'dcgan_resolution': (
    dict(model='dcgan', resolution=32),
    ['config.resolution = 32', '--config.resolution=28'],
  ),
  'unconstrained_critic': (
    dict(loss='wasserstein'),
    ["config.loss = 'wasserstein'", '--config.weight_clip=0.01', '--config.gradient_penalty=10'],
  ),
  'gradient_penalty_with_batch_norm': (
    dict(model='dcgan', gradient_penalty=10.0),
    [
      'config.gradient_penalty',
      "discriminator_normalization = 'batch_norm'",
      '--config.discriminator_normalization=layer_norm',
    ],
  ),
  'r1_with_minibatch_stddev': (
    dict(r1_gamma=1.0, minibatch_stddev=4),
    ['config.r1_gamma', 'config.minibatch_stddev = 4', 'Turn those off'],
  ),
  'gradient_penalty_with_packing': (
    dict(gradient_penalty=10.0, packing=2),
    ['config.gradient_penalty', 'config.packing = 2'],
  ),
  'r1_with_minibatch_discrimination': (
    dict(r1_gamma=1.0, minibatch_discrimination=8),
    ['config.r1_gamma', 'config.minibatch_discrimination = 8'],
  ),
  'packing_batch': (
    dict(packing=3),
    ['config.packing = 3', 'batch of each device (64)', 'multiple of 3'],
  ),
  'minibatch_stddev_group': (
    dict(minibatch_stddev=3),
    ['config.minibatch_stddev = 3', '--config.minibatch_stddev=4'],
  ),
  'ema_decay': (dict(ema_decay=1.0), ['config.ema_decay = 1.0', '0.999']),
  'critic_steps': (dict(critic_steps=0), ['config.critic_steps = 0 must be at least 1']),
  'negative_penalty': (
    dict(gradient_penalty=-1.0),
    ['config.gradient_penalty = -1.0 must be at least 0', '0 turns it off'],
  ),
  'optimizer_name': (
    {'generator_optimizer.name': 'sgd'},
    ["config.generator_optimizer.name = 'sgd'", '--config.generator_optimizer.name=adam'],
  ),
  'learning_rate': (
    {'discriminator_optimizer.learning_rate': 0.0},
    ['config.discriminator_optimizer.learning_rate = 0.0 must be a positive number'],
  ),
  'schedule_longer_than_the_run': (
    {'discriminator_optimizer.decay_to_zero_steps': 25_000},
    [
      'config.discriminator_optimizer',
      'config.num_steps = 20000',
      '--config.discriminator_optimizer.decay_to_zero_steps=20000',
    ],
  ),
}


@pytest.mark.parametrize('name', sorted(MISTAKES))
def test_check_config_refuses_a_mistake_naming_the_field_and_the_fix(name):
  overrides, fragments = MISTAKES[name]
  message = refusal(config_with(**overrides))
  for fragment in fragments:
    assert fragment in message, (fragment, message)


def test_packing_must_divide_each_devices_batch_not_only_the_global_one():
  config = config_with(packing=4)  # Batch 64.
  classic.check_config(config, device_count=16)  # 4 per device.
  message = refusal(config, device_count=32)  # 2 per device.
  assert 'config.packing = 4 does not divide the batch of each device (2)' in message
  assert 'multiple of 4 times the number of devices' in message


def test_generator_passes_must_divide_each_devices_batch():
  config = config_with(generator_passes=4)  # Batch 64.
  classic.check_config(config, device_count=16)  # 4 per device, 1 a pass.
  message = refusal(config, device_count=32)  # 2 per device.
  assert 'config.generator_passes = 4 does not divide the batch of each device (2)' in message
  assert '--config.generator_passes=1' in message
  assert 'config.generator_passes = 0 must be at least 1' in refusal(
    config_with(generator_passes=0)
  )


def test_packing_with_conditioning_is_refused_before_anything_runs():
  message = refusal(config_with(cgan_config, packing=2))
  assert 'config.packing = 2' in message and 'config.conditioning' in message


def test_network_options_are_checked_apart_from_the_step_options():
  # Each check refuses its own fields and leaves the other's alone.
  network_mistake = config_with(model='wgan')
  with pytest.raises(ValueError, match="config.model = 'wgan'"):
    options.check_network_options(network_mistake, local_batch=64)
  options.check_step_options(network_mistake, local_batch=64)
  step_mistake = config_with(loss='hinge_loss')
  with pytest.raises(ValueError, match="config.loss = 'hinge_loss'"):
    options.check_step_options(step_mistake, local_batch=64)
  assert options.check_network_options(step_mistake, local_batch=64) == ()


def test_network_options_report_what_makes_d_mix_a_batch():
  assert options.check_network_options(config_with(model='dcgan'), local_batch=64) == (
    "discriminator_normalization = 'batch_norm'",
  )
  layer_norm = config_with(model='dcgan', discriminator_normalization='layer_norm')
  assert options.check_network_options(layer_norm, local_batch=64) == ()
  # The MLP D has no normalisation, whatever the field says.
  assert options.check_network_options(config_with(), local_batch=64) == ()
  stddev = config_with(minibatch_stddev=4)
  assert options.check_network_options(stddev, local_batch=64) == ('minibatch_stddev = 4',)
  # ... which the step's check then refuses with a penalty, and only then.
  options.check_step_options(stddev, local_batch=64, mixing=('minibatch_stddev = 4',))
  stddev.r1_gamma = 1.0
  with pytest.raises(ValueError, match='config.minibatch_stddev = 4 makes D mix'):
    options.check_step_options(stddev, local_batch=64, mixing=('minibatch_stddev = 4',))


def test_every_shipped_config_is_accepted():
  assert {'gan', 'dcgan', 'cgan', 'wgan', 'wgan_gp'} <= set(SHIPPED_CONFIGS)
  for name in SHIPPED_CONFIGS:
    config = importlib.import_module(f'configs.{name}').get_config()
    assert config.family == 'classic', name
    classic.check_config(config, device_count=1)


def image_info(shape=(28, 28, 1), num_classes=None, source='bundled_mnist'):
  return data.DatasetInfo(
    source=source, shape=shape, num_classes=num_classes, num_examples=60_000, feature='image'
  )


def build(config, info):
  return classic.build(config, {'real': info})


def test_build_maps_the_config_to_networks_and_options():
  gan = build(wgan_gp_config.get_config(), image_info())
  assert isinstance(gan, classic.GAN)
  assert gan.generator.image_shape == (28, 28, 1)
  assert gan.loss == adversarial.ADVERSARIAL_LOSSES['wasserstein']
  assert (gan.critic_steps, gan.gradient_penalty_weight, gan.num_classes) == (5, 10.0, 0)
  assert (gan.latent_dim, gan.feature) == (100, 'image')
  # A conditional GAN takes the data's classes; an unconditional one ignores them.
  assert build(cgan_config.get_config(), image_info(num_classes=10)).num_classes == 10
  assert build(gan_config.get_config(), image_info(num_classes=10)).num_classes == 0
  dcgan64 = build(config_with(dcgan_config, resolution=64), image_info((64, 64, 3)))
  assert dcgan64.generator.image_shape == (64, 64, 3)


def test_build_scales_each_layer_by_the_width_multipliers():
  # The 28x28 DCGAN at half width: G 256-128-64 -> 128-64-32, D 64-128 -> 32-64;
  # the MLPs' units the same way, rounded, never below one unit.
  half = config_with(dcgan_config, generator_width=0.5, discriminator_width=0.5)
  dcgan = build(half, image_info())
  assert (dcgan.generator.features, dcgan.discriminator.features) == ((128, 64, 32), (32, 64))
  assert dcgan.generator.image_shape == (28, 28, 1)
  assert build(dcgan_config.get_config('paper'), image_info()).generator.features == (256, 128, 64)
  mlps = build(config_with(generator_width=0.3, discriminator_width=0.001), image_info())
  assert mlps.generator.hidden_features == (38, 77, 154, 307)
  assert mlps.discriminator.hidden_features == (1, 1)


def test_build_refuses_a_dcgan_that_does_not_fit_the_images():
  config = config_with(dcgan_config, **{'data.source': './faces'})
  with pytest.raises(ValueError, match="config.data.source = './faces' gives 32x32 images") as e:
    build(config, image_info((32, 32, 3), source='./faces'))
  assert '--config.resolution=28' in str(e.value)
  assert '--config.data.resize=28 --config.data.center_crop=28' in str(e.value)
  # Images another preset makes: that preset, or resize to this one's.
  with pytest.raises(ValueError, match='config.resolution = 28 builds the DCGAN for 28x28') as e:
    build(config, image_info((64, 64, 3), source='./faces'))
  assert '--config.resolution=64' in str(e.value)
  assert '--config.data.resize=28 --config.data.center_crop=28' in str(e.value)


def test_build_refuses_a_conditional_gan_on_data_without_labels():
  config = config_with(cgan_config, **{'data.source': './faces'})
  with pytest.raises(ValueError, match="config.conditioning = 'concat' needs class labels") as e:
    build(config, image_info(num_classes=None, source='./faces'))
  assert "config.data.source = './faces' has none" in str(e.value)
  assert '--config.conditioning=none' in str(e.value)


def test_build_refuses_point_data():
  info = data.DatasetInfo(
    source='ring2d', shape=(2,), num_classes=None, num_examples=100_000, feature='point'
  )
  with pytest.raises(ValueError, match='holds points, not images') as error:
    build(config_with(**{'data.source': 'ring2d'}), info)
  assert 'toy2d' in str(error.value)
