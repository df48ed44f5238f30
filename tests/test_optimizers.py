"""Tests of the optimizers and their learning-rate schedules."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import default
from jaxgan.train import optimizers


def rates(settings, num_steps, updates_per_step=1, counts=None):
  schedule = optimizers.learning_rate_schedule(
    settings, num_steps=num_steps, updates_per_step=updates_per_step
  )
  counts = range(num_steps * updates_per_step + 1) if counts is None else counts
  return np.array([float(schedule(c)) if callable(schedule) else schedule for c in counts])


def test_constant_rate_is_a_float_and_adam_is_optax_adam():
  settings = default.optimizer_config(2e-4, b1=0.5)
  assert optimizers.learning_rate_schedule(settings, num_steps=100) == 2e-4
  params = {'w': jnp.ones(3)}
  ours = optimizers.make_optimizer(settings, num_steps=100)
  plain = optax.adam(2e-4, b1=0.5)
  grads = {'w': jnp.array([1.0, -2.0, 3.0])}
  ours_update, _ = ours.update(grads, ours.init(params), params)
  plain_update, _ = plain.update(grads, plain.init(params), params)
  np.testing.assert_array_equal(ours_update['w'], plain_update['w'])


def test_linear_decay_to_zero_over_the_second_half():
  # CycleGAN's schedule: constant for 50 steps, then linearly to 0 at step 100.
  settings = default.optimizer_config(1.0, decay_to_zero_steps=50)
  values = rates(settings, 100)
  np.testing.assert_allclose(values[:51], 1.0)
  np.testing.assert_allclose(values[50:], np.linspace(1.0, 0.0, 51), atol=1e-6)


def test_warmup_then_constant_then_decay():
  settings = default.optimizer_config(2.0, warmup_steps=4, decay_to_zero_steps=4)
  np.testing.assert_allclose(
    rates(settings, 10), [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0, 1.5, 1.0, 0.5, 0.0], atol=1e-6
  )


def test_schedule_counts_train_steps_not_critic_updates():
  # D takes 5 updates per train step: its rate at update 5k is G's at step k.
  settings = default.optimizer_config(1.0, decay_to_zero_steps=10)
  generator = rates(settings, 10)
  critic = rates(settings, 10, updates_per_step=5, counts=range(0, 51, 5))
  np.testing.assert_allclose(critic, generator, atol=1e-6)


def test_a_lazily_regularised_schedule_stretches_by_its_extra_updates():
  # StyleGAN2's lazy R1 every 16 steps: 17 updates per 16 steps, so a
  # 32-step warm-up and a 32-step decay last 34 updates each.
  settings = default.optimizer_config(1.0, warmup_steps=32, decay_to_zero_steps=32)
  values = rates(settings, 160, updates_per_step=17 / 16, counts=range(171))
  np.testing.assert_allclose(values[:35], np.linspace(0.0, 1.0, 35), atol=1e-6)
  np.testing.assert_allclose(values[34:137], 1.0)
  np.testing.assert_allclose(values[136:], np.linspace(1.0, 0.0, 35), atol=1e-6)


def test_rmsprop_is_pytorchs_form():
  settings = default.optimizer_config(0.1, name='rmsprop', decay=0.9)
  optimizer = optimizers.make_optimizer(settings, num_steps=10)
  params = {'w': jnp.zeros(1)}
  update, _ = optimizer.update({'w': jnp.array([2.0])}, optimizer.init(params), params)
  # v = 0.1 * 4; update = -lr * g / (sqrt(v) + eps), eps outside the root.
  np.testing.assert_allclose(update['w'], [-0.1 * 2.0 / (np.sqrt(0.4) + 1e-8)], rtol=1e-6)


@pytest.mark.parametrize(
  'changes,message',
  [
    (dict(name='sgd'), "name = 'sgd' is not one jaxgan knows"),
    (dict(learning_rate=0.0), 'must be a positive number'),
    (dict(learning_rate=float('inf')), 'must be a positive number'),
    (dict(b2=1.0), 'b2 = 1.0 must be in'),
    (dict(warmup_steps=-1), 'must be 0'),
    (dict(warmup_steps=60, decay_to_zero_steps=60), 'decay_to_zero_steps=40'),
  ],
)
def test_bad_settings_are_refused_with_the_field(changes, message):
  settings = default.optimizer_config(1e-3)
  settings.update(changes)
  with pytest.raises(ValueError, match='config.generator_optimizer') as error:
    optimizers.check_optimizer(settings, field='generator_optimizer', num_steps=100)
  assert message in str(error.value)
