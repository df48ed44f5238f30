"""Every config builds models that make and judge samples of the right shape."""

import glob
import importlib
import os

import jax
import pytest

from jaxgan import data
from jaxgan import families
from jaxgan.train import experiment as experiment_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _names(folder):
  return sorted(
    os.path.splitext(os.path.basename(path))[0]
    for path in glob.glob(os.path.join(ROOT, folder, '*.py'))
    if not os.path.basename(path).startswith(('_', 'default'))
  )


# CycleGAN's configs translate between two domains, of these image shapes.
CYCLEGAN_CASES = [
  ('configs.cyclegan', (256, 256, 3), (256, 256, 3)),
  ('configs.cyclegan_mnist', (32, 32, 1), (32, 32, 3)),
]
# StyleGAN's configs, with overrides, for images of these shapes.
STYLEGAN_CASES = [
  ('configs.stylegan', None, (32, 32, 1)),
  ('configs.stylegan2', None, (32, 32, 1)),
  # The cifar-like preset of configs/stylegan2.py's docstring, in RGB.
  (
    'configs.stylegan2',
    dict(mapping_layers=2, path_length_weight=0.0, mixing_probability=0.0),
    (32, 32, 3),
  ),
  # Each style with the other's networks, at another resolution.
  (
    'configs.stylegan',
    dict(style='modulated', synthesis_architecture='orig', resolution=64, fmap_base=0),
    (64, 64, 3),
  ),
  (
    'configs.stylegan2',
    dict(
      style='adain', synthesis_architecture='skip', discriminator_architecture='orig', resolution=8
    ),
    (8, 8, 1),
  ),
]
OTHER_FAMILY_CONFIGS = {c[0] for c in CYCLEGAN_CASES + STYLEGAN_CASES}
CONFIG_NAMES = [name for name in _names('configs') if f'configs.{name}' not in OTHER_FAMILY_CONFIGS]
BENCHMARK_CONFIG_NAMES = _names(os.path.join('benchmarks', 'configs'))
# Each config with the sample shapes its presets are for.
CASES = (
  [(f'configs.{name}', None, (28, 28, 1)) for name in CONFIG_NAMES]
  + [(f'benchmarks.configs.{name}', None, (2,)) for name in BENCHMARK_CONFIG_NAMES]
  + [
    ('configs.dcgan', dict(resolution=64), (64, 64, 3)),
    ('configs.gan', None, (32, 32, 3)),
    ('configs.dcgan', dict(dtype='bfloat16'), (28, 28, 1)),
    # Options compose: one config away from each other.
    ('configs.cgan', dict(model='dcgan', loss='hinge', spectral_norm=True), (28, 28, 1)),
    ('configs.cgan', dict(conditioning='projection'), (28, 28, 1)),
    ('configs.wgan_gp', dict(model='dcgan'), (28, 28, 1)),
    ('configs.pacgan', dict(model='dcgan', packing=4), (28, 28, 1)),
    ('configs.minibatch_discrimination', dict(model='dcgan'), (28, 28, 1)),
    ('configs.minibatch_stddev', dict(model='dcgan', spectral_norm=True), (28, 28, 1)),
  ]
)


def test_every_config_is_covered():
  covered = {module for module, _, _ in CASES + CYCLEGAN_CASES + STYLEGAN_CASES}
  assert {f'configs.{name}' for name in _names('configs')} <= covered
  assert {f'benchmarks.configs.{name}' for name in BENCHMARK_CONFIG_NAMES} <= covered


@pytest.mark.parametrize('module,overrides,shape', CASES)
def test_models_of_config(module, overrides, shape):
  config = importlib.import_module(module).get_config()
  config.update(overrides or {})
  family = families.load(config.family)
  family.check_config(config, device_count=1)
  feature = 'point' if shape == (2,) else 'image'
  conditional = config.get('conditioning', 'none') != 'none'
  info = data.DatasetInfo('test', shape, 10 if conditional else None, 1000, feature)
  model = family.build(config, {'real': info})
  # Shapes by tracing alone (`eval_shape` compiles nothing): what each
  # config builds fits together. What the networks compute is checked by
  # tests/test_step_checksums.py and the network tests.
  state = jax.eval_shape(model.init, jax.random.key(0))
  inputs = model.sample_inputs(0, 60).inputs  # Packs of 2, 3, 4; stddev groups of 4; 10 classes.
  samples = jax.eval_shape(model.sample, state, inputs)
  assert samples.shape == (60, *shape)
  logits = jax.eval_shape(
    lambda s, x: model.discriminator.apply(
      {'params': s.discriminator_params, 'batch_stats': s.discriminator_batch_stats},
      x,
      inputs.get('labels'),
      train=False,
    ),
    state,
    samples,
  )
  assert logits.shape == (60 // config.packing,)


def test_every_config_passes_the_loops_checks_on_one_device():
  # What train.py checks before anything compiles: among others, every
  # *_every a multiple of steps_per_call (gan.py, and the classic configs built
  # on it, run 10 steps a call).
  for module in [f'configs.{n}' for n in _names('configs')] + [
    f'benchmarks.configs.{n}' for n in BENCHMARK_CONFIG_NAMES
  ]:
    config = importlib.import_module(module).get_config()
    experiment_lib.check_loop_config(config, device_count=1, process_count=1)


def test_configs_open_with_the_command_that_runs_them():
  for name in _names('configs'):
    module = importlib.import_module(f'configs.{name}')
    assert f'python train.py --config=configs/{name}.py' in module.__doc__.splitlines()[2], name
  for name in BENCHMARK_CONFIG_NAMES:
    module = importlib.import_module(f'benchmarks.configs.{name}')
    assert f'--config=benchmarks/configs/{name}.py' in module.__doc__, name


def test_the_dcgan_config_has_the_papers_recipe_and_refuses_others():
  # configs/dcgan.py:paper: the paper's widths and Adam, no moving average.
  from configs import dcgan  # pylint: disable=g-import-not-at-top

  paper, default = dcgan.get_config('paper'), dcgan.get_config()
  assert (paper.generator_width, paper.discriminator_width, paper.ema_decay) == (1.0, 1.0, 0.0)
  assert paper.generator_optimizer.learning_rate == paper.discriminator_optimizer.learning_rate
  assert paper.generator_optimizer.learning_rate == 2e-4
  assert (default.generator_width, default.ema_decay, paper.num_steps) == (0.375, 0.999, 3000)
  experiment_lib.check_loop_config(paper, device_count=1, process_count=1)
  with pytest.raises(ValueError, match='configs/dcgan.py:papr is not a recipe') as error:
    dcgan.get_config('papr')
  assert '--config=configs/dcgan.py:paper' in str(error.value)


@pytest.mark.parametrize('module,shape_a,shape_b', CYCLEGAN_CASES)
def test_cyclegan_models_of_config(module, shape_a, shape_b):
  config = importlib.import_module(module).get_config()
  family = families.load(config.family)
  family.check_config(config, device_count=1)
  infos = {
    domain: data.DatasetInfo('test', shape, None, 1000, 'image')
    for domain, shape in (('a', shape_a), ('b', shape_b))
  }
  model = family.build(config, infos)
  state = jax.eval_shape(model.init, jax.random.key(0))
  images = lambda shape: jax.ShapeDtypeStruct((2, *shape), 'float32')
  # Rows of a | G(a) | F(G(a)) | b | F(b) | G(F(b)), in RGB.
  grid = jax.eval_shape(model.sample, state, {'a': images(shape_a), 'b': images(shape_b)})
  assert grid.shape == (12, *shape_a[:2], 3)
  patches = jax.eval_shape(
    lambda s, x: model.discriminator_b.apply({'params': s.discriminator_params['b']}, x),
    state,
    images(shape_b),
  )
  # The 70x70 PatchGAN judges 30x30 patches of a 256x256 image, 2x2 of a 32x32 one.
  assert patches.shape == (2, *((30, 30) if shape_a[0] == 256 else (2, 2)), 1)


@pytest.mark.parametrize('module,overrides,shape', STYLEGAN_CASES)
def test_stylegan_models_of_config(module, overrides, shape):
  config = importlib.import_module(module).get_config()
  config.update(overrides or {})
  family = families.load(config.family)
  family.check_config(config, device_count=1)
  model = family.build(config, {'real': data.DatasetInfo('test', shape, None, 1000, 'image')})
  state = jax.eval_shape(model.init, jax.random.key(0))
  inputs = model.sample_inputs(0, 8).inputs
  samples = jax.eval_shape(model.sample, state, inputs)
  assert samples.shape == (8, *shape)
  logits = jax.eval_shape(model.judge, state.discriminator_params, samples)
  assert logits.shape == (8,)
  # One EMA entry per parameter of G; w_avg of w's size.
  assert jax.tree.structure(state.generator_ema) == jax.tree.structure(state.generator_params)
  assert state.w_avg.shape == (config.w_dim,)
