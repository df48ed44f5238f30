"""Tests of what a classic GAN's sample grids and evaluation sets are drawn from."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import families
from jaxgan.families.classic import mlp
from jaxgan.families.classic import model as model_lib
from jaxgan.families.classic import sampling

LATENT_DIM = 4


def test_unconditional_grid_is_the_same_fixed_z_on_every_call():
  grid = sampling.grid_inputs(3, 6, LATENT_DIM)
  assert isinstance(grid, families.SampleInputs)
  assert set(grid.inputs) == {'z'} and grid.columns is None
  chex.assert_shape(grid.inputs['z'], (6, LATENT_DIM))
  np.testing.assert_array_equal(
    grid.inputs['z'], sampling.grid_inputs(3, 6, LATENT_DIM).inputs['z']
  )
  np.testing.assert_array_equal(grid.inputs['z'], sampling.fixed_latents(3, 6, LATENT_DIM))
  # Another seed, another z; and not the noise of training or evaluation.
  other = sampling.grid_inputs(4, 6, LATENT_DIM).inputs['z']
  assert not np.allclose(grid.inputs['z'], other)
  plain = jax.random.normal(jax.random.key(3), (6, LATENT_DIM))
  assert not np.allclose(grid.inputs['z'], plain)


def test_unconditional_grid_refuses_a_label():
  with pytest.raises(ValueError, match='unconditional') as error:
    sampling.grid_inputs(0, 6, LATENT_DIM, num_classes=0, label=1)
  assert '--label' in str(error.value)


def test_conditional_grid_has_a_row_per_class_and_a_z_per_column():
  grid = sampling.grid_inputs(3, 12, LATENT_DIM, num_classes=3)
  assert grid.columns == 4
  labels, z = np.asarray(grid.inputs['labels']), np.asarray(grid.inputs['z'])
  assert labels.dtype == np.int32
  np.testing.assert_array_equal(labels, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
  rows = z.reshape(3, 4, LATENT_DIM)
  # The same z down each column, and a different z in each column.
  for row in rows[1:]:
    np.testing.assert_array_equal(row, rows[0])
  np.testing.assert_array_equal(rows[0], sampling.fixed_latents(3, 4, LATENT_DIM))
  assert len({tuple(column) for column in rows[0]}) == 4


def test_conditional_grid_with_more_classes_than_samples_shows_the_first_classes():
  grid = sampling.grid_inputs(0, 4, LATENT_DIM, num_classes=10)
  assert grid.columns == 1
  np.testing.assert_array_equal(grid.inputs['labels'], [0, 1, 2, 3])


def test_a_label_gives_that_class_only():
  grid = sampling.grid_inputs(3, 5, LATENT_DIM, num_classes=3, label=2)
  np.testing.assert_array_equal(grid.inputs['labels'], [2] * 5)
  np.testing.assert_array_equal(grid.inputs['z'], sampling.fixed_latents(3, 5, LATENT_DIM))
  assert grid.columns is None


@pytest.mark.parametrize('label', [3, -1])
def test_a_label_out_of_range_is_refused(label):
  with pytest.raises(ValueError, match=f'--label={label} is not a class') as error:
    sampling.grid_inputs(0, 5, LATENT_DIM, num_classes=3, label=label)
  assert '0 to 2' in str(error.value)


def test_evaluation_z_comes_in_blocks_of_1000_from_the_seed_folded_with_the_block():
  inputs, labels = sampling.evaluation_inputs(7, 1500, LATENT_DIM)
  assert labels is None and set(inputs) == {'z'}
  z = inputs['z']
  assert z.shape == (1500, LATENT_DIM) and z.dtype == np.float32
  key = jax.random.key(7)
  np.testing.assert_array_equal(
    z[:1000], jax.random.normal(jax.random.fold_in(key, 0), (1000, LATENT_DIM))
  )
  np.testing.assert_array_equal(
    z[1000:], jax.random.normal(jax.random.fold_in(key, 1), (500, LATENT_DIM))
  )
  # A larger set extends a smaller one.
  smaller, _ = sampling.evaluation_inputs(7, 1000, LATENT_DIM)
  np.testing.assert_array_equal(z[:1000], smaller['z'])
  assert not np.allclose(z[:1000], sampling.evaluation_inputs(8, 1000, LATENT_DIM)[0]['z'])


def test_conditional_evaluation_asks_for_every_class_equally():
  inputs, labels = sampling.evaluation_inputs(0, 1500, LATENT_DIM, num_classes=10)
  assert labels.dtype == np.int32
  np.testing.assert_array_equal(inputs['labels'], labels)
  np.testing.assert_array_equal(labels[:12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
  np.testing.assert_array_equal(np.bincount(labels, minlength=10), [150] * 10)
  # The z are the unconditional set's.
  plain, _ = sampling.evaluation_inputs(0, 1500, LATENT_DIM)
  np.testing.assert_array_equal(inputs['z'], plain['z'])
  np.testing.assert_array_equal(sampling.balanced_labels(7, 3), [0, 1, 2, 0, 1, 2, 0])


def small_gan(*, num_classes=0, ema_decay=0.0):
  return model_lib.GAN(
    generator=mlp.MLPGenerator(
      image_shape=(4, 4, 1), hidden_features=(8,), num_classes=num_classes
    ),
    discriminator=mlp.MLPDiscriminator(hidden_features=(8,), num_classes=num_classes),
    generator_optimizer=optax.sgd(0.1),
    discriminator_optimizer=optax.sgd(0.1),
    latent_dim=LATENT_DIM,
    num_classes=num_classes,
    ema_decay=ema_decay,
  )


@pytest.mark.parametrize('ema_decay', [0.0, 0.9])
def test_gan_samples_from_the_moving_average_when_it_keeps_one(ema_decay):
  gan = small_gan(ema_decay=ema_decay)
  state = gan.init(jax.random.key(0))
  # Move the two apart (the step would, over training).
  if ema_decay:
    state = state.replace(
      generator_ema_params=jax.tree.map(lambda p: 0.5 * p, state.generator_params)
    )
  z = sampling.fixed_latents(0, 3, LATENT_DIM)

  def generate(params):
    variables = {'params': params, 'batch_stats': state.generator_batch_stats}
    return gan.generator.apply(variables, z, train=False)

  samples = gan.sample(state, {'z': z})
  chex.assert_shape(samples, (3, 4, 4, 1))
  expected = state.generator_ema_params if ema_decay else state.generator_params
  np.testing.assert_allclose(samples, generate(expected), atol=1e-6)
  if ema_decay:
    assert float(jnp.max(jnp.abs(samples - generate(state.generator_params)))) > 1e-3
    assert 'moving average' in gan.sampler
  else:
    assert 'moving average' not in gan.sampler


def test_gan_draws_its_grids_and_evaluation_sets_from_sampling():
  gan = small_gan(num_classes=3)
  grid = gan.sample_inputs(5, 6)
  expected = sampling.grid_inputs(5, 6, LATENT_DIM, 3)
  assert grid.columns == expected.columns == 2
  chex.assert_trees_all_equal(grid.inputs, expected.inputs)
  with pytest.raises(ValueError, match='--label=3'):
    gan.sample_inputs(5, 6, label=3)
  inputs, labels = gan.evaluation_inputs(5, 20)
  np.testing.assert_array_equal(labels, sampling.balanced_labels(20, 3))
  chex.assert_shape(inputs['z'], (20, LATENT_DIM))
  state = gan.init(jax.random.key(0))
  samples = gan.sample(state, grid.inputs)
  chex.assert_shape(samples, (6, 4, 4, 1))
