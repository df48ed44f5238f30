"""Tests of CycleGAN's image pool: it fills first, then swaps stored fakes for new ones."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.families.cyclegan import image_pool

_query = jax.jit(image_pool.query)


def _fakes(step: int, slots: int = 2) -> jax.Array:
  """(slots, 1, 1, 1) images whose value names the step and slot: 100 step + slot."""
  return jnp.asarray([100.0 * step + slot for slot in range(slots)]).reshape(slots, 1, 1, 1)


def _keys(step: int, slots: int = 2) -> jax.Array:
  return jax.random.split(jax.random.fold_in(jax.random.key(0), step), slots)


def test_slot_size_splits_the_pool_over_the_batch():
  assert image_pool.slot_size(50, 1) == 50  # The reference's default: batch 1.
  assert image_pool.slot_size(50, 4) == 13
  assert image_pool.slot_size(50, 64) == 1
  assert image_pool.slot_size(0, 4) == 0


def test_the_pool_fills_first_and_shows_the_new_fakes_meanwhile():
  pool = image_pool.create(2, 3, (1, 1, 1))
  for step in range(3):
    pool, shown = _query(pool, _fakes(step), _keys(step))
    np.testing.assert_array_equal(shown, _fakes(step))
  np.testing.assert_array_equal(pool.count, [3, 3])
  # Slot s holds its own fakes of steps 0, 1, 2, in order.
  np.testing.assert_array_equal(pool.images[:, :, 0, 0, 0], [[0, 100, 200], [1, 101, 201]])


def test_a_full_pool_shows_either_the_new_fake_or_a_stored_one_it_replaces():
  size, slots, steps = 3, 2, 400
  pool = image_pool.create(slots, size, (1, 1, 1))
  swaps = 0
  for step in range(steps):
    before = np.asarray(pool.images[:, :, 0, 0, 0])
    pool, shown = _query(pool, _fakes(step, slots), _keys(step, slots))
    after = np.asarray(pool.images[:, :, 0, 0, 0])
    for slot in range(slots):
      new, seen = 100.0 * step + slot, float(shown[slot, 0, 0, 0])
      if step < size or seen == new:
        # Filling stores the new fake; afterwards showing it stores nothing.
        expected = before[slot].copy()
        if step < size:
          expected[step] = new
        np.testing.assert_array_equal(after[slot], expected)
      else:
        # A stored fake of this slot was shown, and the new one took its place.
        swaps += 1
        assert seen in before[slot] and seen % 100 == slot
        (index,) = np.flatnonzero(before[slot] == seen)
        expected = before[slot].copy()
        expected[index] = new
        np.testing.assert_array_equal(after[slot], expected)
  # Each query of a full pool swaps with probability 1/2: 794 draws.
  draws = (steps - size) * slots
  assert abs(swaps / draws - image_pool.SWAP_PROBABILITY) < 0.06


def test_an_empty_pool_shows_the_new_fakes():
  pool = image_pool.create(2, 0, (1, 1, 1))
  same_pool, shown = _query(pool, _fakes(5), _keys(5))
  np.testing.assert_array_equal(shown, _fakes(5))
  assert same_pool.images.shape == (2, 0, 1, 1, 1)


def test_slots_are_independent_of_each_other():
  # A slot's pool depends only on its own fakes and key: slot 1 of a two-slot
  # pool follows exactly what a one-slot pool given slot 1's inputs does.
  pool_two, pool_one = image_pool.create(2, 2, (1, 1, 1)), image_pool.create(1, 2, (1, 1, 1))
  for step in range(20):
    pool_two, shown_two = _query(pool_two, _fakes(step), _keys(step))
    pool_one, shown_one = _query(pool_one, _fakes(step)[1:], _keys(step)[1:])
    np.testing.assert_array_equal(shown_two[1:], shown_one)
  np.testing.assert_array_equal(pool_two.images[1:], pool_one.images)
