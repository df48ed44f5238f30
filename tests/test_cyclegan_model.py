"""Tests of the CycleGAN model: what a step computes, how its state lies, what it samples."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgan import parallel
from jaxgan.families.cyclegan import losses
from jaxgan.families.cyclegan import model as model_lib
from jaxgan.families.cyclegan import networks
from jaxgan.train import steps

SIDE = 32


def tiny_cyclegan(channels_a=1, channels_b=3, **options):
  """A CycleGAN of the smallest networks at 32x32 (fast to compile)."""
  generator = lambda channels: networks.ResnetGenerator(
    out_channels=channels, filters=4, num_blocks=1
  )
  discriminator = networks.PatchDiscriminator(filters=4)
  options.setdefault('generator_optimizer', optax.adam(2e-4, b1=0.5))
  options.setdefault('discriminator_optimizer', optax.adam(2e-4, b1=0.5))
  return model_lib.CycleGAN(
    generator_ab=generator(channels_b),
    generator_ba=generator(channels_a),
    discriminator_a=discriminator,
    discriminator_b=discriminator,
    image_shape_a=(SIDE, SIDE, channels_a),
    image_shape_b=(SIDE, SIDE, channels_b),
    **options,
  )


def image_batch(batch, channels_a=1, channels_b=3, seed=0):
  rng = np.random.default_rng(seed)
  return {
    model_lib.A: {'image': rng.integers(0, 256, (1, 1, batch, SIDE, SIDE, channels_a), np.uint8)},
    model_lib.B: {'image': rng.integers(0, 256, (1, 1, batch, SIDE, SIDE, channels_b), np.uint8)},
  }


def one_step(gan, batch):
  """The state before and after one step on one device, and the step's metrics."""
  mesh = parallel.make_data_mesh(jax.devices()[:1])
  abstract = jax.eval_shape(gan.init, jax.random.key(0))
  shardings = jax.tree.map(lambda p: NamedSharding(mesh, p), gan.state_partition(abstract))
  state = jax.jit(gan.init, out_shardings=shardings)(jax.random.key(0))
  before = jax.device_get(state.replace(key=jax.random.key_data(state.key)))
  call = steps.make_train_call(gan, mesh, gan.state_partition(abstract))
  after, metrics = call(state, steps.global_batches(mesh, batch, 1))
  return before, after, jax.tree.map(lambda m: float(m[-1]), jax.device_get(metrics))


@pytest.fixture(scope='module')
def stepped():
  """One step of a 3-channel-to-3-channel CycleGAN at batch 2, identity loss on."""
  gan = tiny_cyclegan(channels_a=3, global_batch=2, pool_size=4)
  batch = image_batch(2, channels_a=3)
  return gan, batch, *one_step(gan, batch)


def test_the_generator_loss_is_the_papers_sum_of_terms(stepped):
  gan, batch, before, _, metrics = stepped
  # The terms recomputed from the state before the step, outside the step.
  real_a, real_b = (
    steps.to_float_images(batch[d]['image'])[0, 0] for d in (model_lib.A, model_lib.B)
  )
  translate = jax.jit(gan.translate, static_argnums=1)
  g = lambda direction, x: translate(before, direction, x)
  judge = jax.jit(lambda params, x: gan.discriminator_a.apply({'params': params}, x))
  d = lambda domain, x: judge(before.discriminator_params[domain], x)
  expected = {
    'cycle_a': losses.cycle_consistency_loss(real_a, g('ba', g('ab', real_a))),
    'cycle_b': losses.cycle_consistency_loss(real_b, g('ab', g('ba', real_b))),
    'identity_a': losses.identity_loss(real_a, g('ba', real_a)),
    'identity_b': losses.identity_loss(real_b, g('ab', real_b)),
    'generator_ab_loss': losses.generator_adversarial_loss(
      'least_squares', d('b', g('ab', real_a))
    ),
    'generator_ba_loss': losses.generator_adversarial_loss(
      'least_squares', d('a', g('ba', real_b))
    ),
  }
  for name, value in expected.items():
    np.testing.assert_allclose(metrics[name], value, rtol=2e-5, err_msg=name)
  total = (
    expected['generator_ab_loss']
    + expected['generator_ba_loss']
    + 10 * (expected['cycle_a'] + expected['cycle_b'])
    + 10 * 0.5 * (expected['identity_a'] + expected['identity_b'])
  )
  np.testing.assert_allclose(metrics['generator_loss'], total, rtol=2e-5)
  # D's loss: its two domains' halved losses; on an empty pool, D sees G's new fakes.
  fake_b = g('ab', real_a)
  d_b = losses.discriminator_loss('least_squares', d('b', real_b), d('b', fake_b))
  np.testing.assert_allclose(metrics['discriminator_b_loss'], d_b, rtol=2e-5)
  np.testing.assert_allclose(
    metrics['discriminator_loss'], metrics['discriminator_a_loss'] + d_b, rtol=2e-5
  )


def test_a_step_updates_every_network_and_stores_its_fakes_in_the_pools(stepped):
  gan, batch, before, after, _ = stepped
  after = jax.device_get(after.replace(key=jax.random.key_data(after.key)))
  assert int(after.step) == 1
  for group in ('generator_params', 'discriminator_params'):
    for name in getattr(before, group):
      changed = jax.tree.map(
        lambda x, y: not np.array_equal(x, y),
        getattr(before, group)[name],
        getattr(after, group)[name],
      )
      assert all(jax.tree.leaves(changed)), (group, name)
  real_a = steps.to_float_images(batch[model_lib.A]['image'])[0, 0]
  # Slot i of the B pool holds G(a_i) of the parameters before the step.
  np.testing.assert_array_equal(after.fake_b_pool.count, [1, 1])
  translate = jax.jit(gan.translate, static_argnums=1)
  np.testing.assert_allclose(
    after.fake_b_pool.images[:, 0], translate(before, 'ab', real_a), atol=1e-6
  )
  assert not after.fake_b_pool.images[:, 1:].any()


def test_pools_lie_with_their_examples_and_the_rest_is_replicated():
  gan = tiny_cyclegan(global_batch=4)
  partition = gan.state_partition(jax.eval_shape(gan.init, jax.random.key(0)))
  assert partition.fake_a_pool.images == P(parallel.DATA_AXIS)
  assert partition.fake_b_pool.count == P(parallel.DATA_AXIS)
  assert all(p == P() for p in jax.tree.leaves(partition.generator_params))
  assert partition.key == P()


def test_a_grid_row_is_a_translation_and_its_round_trip_in_rgb():
  gan = tiny_cyclegan()
  state = jax.jit(gan.init)(jax.random.key(0))
  sample, translate = jax.jit(gan.sample), jax.jit(gan.translate, static_argnums=1)
  rng = np.random.default_rng(0)
  a = jnp.asarray(rng.uniform(-1, 1, (2, SIDE, SIDE, 1)), jnp.float32)
  b = jnp.asarray(rng.uniform(-1, 1, (2, SIDE, SIDE, 3)), jnp.float32)
  grid = sample(state, {'a': a, 'b': b})
  assert grid.shape == (2 * model_lib.GRID_COLUMNS, SIDE, SIDE, 3)
  fake_b, fake_a = translate(state, 'ab', a), translate(state, 'ba', b)
  row = grid[model_lib.GRID_COLUMNS : 2 * model_lib.GRID_COLUMNS]  # The second pair.
  gray = lambda x: jnp.broadcast_to(x, (*x.shape[:-1], 3))
  for got, expected in zip(
    row,
    (
      gray(a[1]),
      fake_b[1],
      gray(translate(state, 'ba', fake_b)[1]),
      b[1],
      gray(fake_a[1]),
      translate(state, 'ab', fake_a)[1],
    ),
  ):
    np.testing.assert_allclose(got, expected, atol=1e-6)
  np.testing.assert_allclose(sample(state, {'b_to_a': b}), fake_a, atol=1e-6)
