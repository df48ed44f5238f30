"""Every config builds models that make and judge images of the right shape."""

import glob
import importlib
import os

import chex
import jax
import jax.numpy as jnp
import pytest

from jaxgan.families.classic import step as step_lib
from jaxgan.train import loop as trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_NAMES = sorted(
  os.path.splitext(os.path.basename(path))[0]
  for path in glob.glob(os.path.join(ROOT, 'configs', '*.py'))
  if not os.path.basename(path).startswith(('_', 'default'))
)
# Each config with the image shapes its presets are for.
CASES = [(name, None, (28, 28, 1)) for name in CONFIG_NAMES] + [
  ('dcgan', dict(resolution=64), (64, 64, 3)),
  ('gan', None, (32, 32, 3)),
  ('dcgan', dict(dtype='bfloat16'), (28, 28, 1)),
  # Options compose: one config away from each other.
  ('cgan', dict(model='dcgan', loss='hinge', spectral_norm=True), (28, 28, 1)),
  ('cgan', dict(conditioning='projection'), (28, 28, 1)),
  ('wgan_gp', dict(model='dcgan'), (28, 28, 1)),
  ('pacgan', dict(model='dcgan', packing=4), (28, 28, 1)),
  ('minibatch_discrimination', dict(model='dcgan'), (28, 28, 1)),
  ('minibatch_stddev', dict(model='dcgan', spectral_norm=True), (28, 28, 1)),
]


def test_every_config_is_covered():
  assert set(CONFIG_NAMES) <= {name for name, _, _ in CASES}


@pytest.mark.parametrize('name,overrides,image_shape', CASES)
def test_models_of_config(name, overrides, image_shape):
  config = importlib.import_module(f'configs.{name}').get_config()
  config.update(overrides or {})
  trainer.check_config(config, device_count=1)
  gan = trainer.build_gan(config, image_shape, num_classes=10)
  state = trainer.initial_state(gan, seed=0, mesh=step_lib.make_data_mesh())
  z = jax.random.normal(jax.random.key(1), (4, config.latent_dim))
  labels = jnp.arange(4) if gan.num_classes else None
  images = step_lib.make_sample_fn(gan.generator)(state, z, labels)
  chex.assert_shape(images, (4, *image_shape))
  chex.assert_tree_all_finite(images)
  assert float(jnp.min(images)) >= -1.0 and float(jnp.max(images)) <= 1.0
  logits = gan.discriminator.apply(
    {'params': state.discriminator_params, 'batch_stats': state.discriminator_batch_stats},
    images,
    labels,
    train=False,
  )
  chex.assert_shape(logits, (4 // config.packing,))
  chex.assert_tree_all_finite(logits)


def test_configs_open_with_the_command_that_runs_them():
  for name in CONFIG_NAMES:
    module = importlib.import_module(f'configs.{name}')
    assert f'python train.py --config=configs/{name}.py' in module.__doc__.splitlines()[2], name
