"""Tests of the family seam: a new family is a package and a config, and the loop trains it."""

import os
import textwrap

import jax
import numpy as np
import pytest

from configs import default
from jaxgan import families
from jaxgan.train import loop

# A family written from scratch against `jaxgan.families`' interface, sharing
# no code with the shipped ones: G shifts its noise by a learned offset, D
# is linear, and both take one SGD step on the non-saturating loss per step.
_SHIFT_FAMILY = textwrap.dedent('''
  """A two-parameter GAN: G(z) = z + offset, D(x) = w . x + b."""
  import dataclasses
  import jax, jax.numpy as jnp
  from jax import lax
  import numpy as np
  from jaxgan import data, families, parallel
  from jaxgan.losses import adversarial

  def check_config(config, *, device_count):
    if config.learning_rate <= 0:
      raise ValueError('config.learning_rate must be positive.')

  def data_streams(config):
    return {'real': families.DataStream(data.DataSpec.from_config(config.data))}

  @dataclasses.dataclass(frozen=True)
  class Shift:
    learning_rate: float
    start: float
    sampler = 'G'
    progress_metrics = ('d_loss',)

    def init(self, key):
      return {'step': jnp.zeros((), jnp.int32), 'offset': jnp.full((2,), self.start),
              'w': jnp.zeros((2,)), 'b': jnp.zeros(()), 'key': key}

    def train_step(self, state, batch):
      real = batch['real']['point'][0]
      key = jax.random.fold_in(state['key'], state['step'])
      z = parallel.example_normal(key, (2,), first_example=parallel.first_example(len(real)),
                                  batch_size=len(real))
      d = lambda p, x: x @ p[0] + p[1]
      def d_loss(p):
        return adversarial.discriminator_loss(d(p, real), d(p, z + state['offset']))
      def g_loss(offset):
        return adversarial.non_saturating_generator_loss(d((w, b), z + offset))
      loss, grads = jax.value_and_grad(d_loss)((state['w'], state['b']))
      grads = lax.pmean(grads, parallel.DATA_AXIS)
      w, b = state['w'] - self.learning_rate * grads[0], state['b'] - self.learning_rate * grads[1]
      offset_grad = lax.pmean(jax.grad(g_loss)(state['offset']), parallel.DATA_AXIS)
      new = dict(state, step=state['step'] + 1, w=w, b=b,
                 offset=state['offset'] - self.learning_rate * offset_grad)
      return new, {'d_loss': lax.pmean(loss, parallel.DATA_AXIS)}

    def state_partition(self, state):
      return families.replicated(state)

    def sample_inputs(self, seed, count, *, label=None):
      return families.SampleInputs(np.asarray(jax.random.normal(jax.random.key(seed), (count, 2))))

    def sample(self, state, inputs):
      return inputs + state['offset']

    def evaluation_inputs(self, seed, count):
      return self.sample_inputs(seed, count).inputs, None

    def draw(self, samples, columns):
      return np.zeros((8, 8, 3), np.uint8)

  def build(config, datasets):
    return Shift(config.learning_rate, config.start)
''')


@pytest.fixture
def shift_family(tmp_path, monkeypatch):
  """The family above, as a package `jaxgan.families.shift` outside the repo."""
  package = tmp_path / 'shift'
  package.mkdir()
  (package / '__init__.py').write_text(_SHIFT_FAMILY)
  monkeypatch.setattr(families, '__path__', [*families.__path__, str(tmp_path)])
  yield 'shift'


def shift_config(data_dir, **overrides):
  """A config for it: the loop's fields (configs/default.py) and the family's two."""
  config = default.get_config()
  config.family = 'shift'
  config.data = default.data_config('grid2d')
  config.learning_rate = 0.2
  config.start = 3.0
  config.update(
    dict(
      batch_size=32,
      num_steps=40,
      log_every=10,
      sample_every=40,
      checkpoint_every=20,
      num_samples=16,
      eval_every=40,
      eval_samples=1000,
    ),
    **overrides,
  )
  return config


def test_a_new_family_is_a_package_and_a_config(shift_family, tmp_path, data_dir):
  assert shift_family in families.available()
  workdir = str(tmp_path / 'run')
  state = loop.train_and_evaluate(shift_config(data_dir, num_steps=20), workdir)
  state = loop.train_and_evaluate(shift_config(data_dir), workdir)  # Resumes at 20.
  # G moved towards the data (the grid's mean is 0) from its start at (3, 3).
  offset = np.asarray(jax.device_get(state['offset']))
  assert np.all(offset < 2.0), offset
  # What the loop owns, it did for this family too.
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['20', '40']
  assert sorted(os.listdir(os.path.join(workdir, 'samples'))) == [
    'step_0000020.png',
    'step_0000040.png',
  ]
  with open(os.path.join(workdir, 'metrics.json')) as f:
    assert '"modes"' in f.read()  # The 2-D mixtures' evaluator.


def test_unknown_families_are_named():
  with pytest.raises(ValueError, match=r'\(classic, cyclegan, stylegan, toy2d are\); choose one of those'):
    families.load('no_such_family')
  with pytest.raises(ValueError, match='--config.family=classic'):
    families.load('')
  assert {'classic', 'toy2d'} <= set(families.available())
