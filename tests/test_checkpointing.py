"""Tests of saving and restoring a run's state and data positions."""

import logging
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan import parallel
from jaxgan.train import checkpointing


def make_state(seed, *, average=False):
  """A state of the kind a family keeps: a step, parameters, optimizer moments, a typed key."""
  rng = np.random.default_rng(seed)
  params = {'dense': {'kernel': rng.normal(size=(3, 4)).astype(np.float32), 'bias': np.zeros(4)}}
  state = {
    'step': np.int32(seed),
    'params': params,
    'moments': jax.tree.map(lambda x: x * 0.5, params),
    'key': jax.random.key(seed),
  }
  if average:
    state['average'] = params
  mesh = parallel.make_data_mesh()
  return jax.device_put(state, NamedSharding(mesh, P()))


def abstract(state):
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)


def assert_same_state(a, b):
  key_data = lambda s: {**s, 'key': jax.random.key_data(s['key'])}
  chex.assert_trees_all_equal(key_data(a), key_data(b))
  assert a['key'].dtype == b['key'].dtype


def test_round_trip_keeps_everything_and_the_last_k(tmp_path):
  checkpointer = checkpointing.Checkpointer(tmp_path / 'checkpoints', max_to_keep=2)
  states = {step: make_state(step) for step in (1, 2, 3)}
  for step, state in states.items():
    checkpointer.save(step, state, {'real': {'next_batch': step}})
  checkpointer.save(3, states[3], {'real': {'next_batch': 99}})  # Same step: not saved again.
  checkpointer.wait()
  assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['2', '3']
  assert checkpointer.all_steps() == [2, 3]
  restored, data_state = checkpointer.restore_latest(abstract(states[3]))
  checkpointer.close()
  assert data_state == {'real': {'next_batch': 3}}
  assert_same_state(restored, states[3])
  assert restored['params']['dense']['kernel'].sharding == (
    states[3]['params']['dense']['kernel'].sharding
  )


def test_no_checkpoint(tmp_path):
  checkpointer = checkpointing.Checkpointer(tmp_path, max_to_keep=2)
  assert checkpointer.restore_latest(abstract(make_state(0))) is None
  checkpointer.close()


def test_damaged_and_partial_step_folders_are_set_aside(tmp_path, caplog):
  directory = tmp_path / 'checkpoints'
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  good = make_state(1)
  checkpointer.save(1, good, {'real': {'next_batch': 1}})
  checkpointer.save(2, make_state(2), {'real': {'next_batch': 2}})
  checkpointer.close()
  # Step 2 loses its array data; step 3 is an empty folder, as a copy that
  # stopped at once would leave.
  for root, _, files in os.walk(directory / '2' / 'state'):
    for name in files:
      open(os.path.join(root, name), 'w').close()
  os.makedirs(directory / '3')

  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  with caplog.at_level(logging.WARNING):
    restored, data_state = checkpointer.restore_latest(abstract(good))
  checkpointer.close()
  assert data_state == {'real': {'next_batch': 1}}
  assert_same_state(restored, good)
  assert 'Checkpoint at step 2' in caplog.text
  assert sorted(os.listdir(directory)) == ['1']
  assert len(os.listdir(f'{directory}_corrupt')) >= 1


@pytest.mark.parametrize(
  'other,difference',
  [
    (make_state(0, average=True), 'average.dense.kernel: not in the checkpoint'),
    (
      {**make_state(0), 'params': {'dense': {'kernel': jnp.zeros((3, 5)), 'bias': jnp.zeros(4)}}},
      'params.dense.kernel: (3, 4) float32 in the checkpoint, (3, 5) float32 here',
    ),
  ],
  ids=['a_field_more', 'another_shape'],
)
def test_a_checkpoint_of_another_state_layout_is_refused_and_kept(tmp_path, other, difference):
  directory = tmp_path / 'checkpoints'
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=2)
  checkpointer.save(0, make_state(0), {'real': {'next_batch': 0}})
  checkpointer.wait()
  # Not damage: the checkpoint stays where it is, and the error says what differs.
  with pytest.raises(checkpointing.LayoutError, match='another state layout') as error:
    checkpointer.restore_latest(abstract(other))
  checkpointer.close()
  assert difference in error.value.differences
  assert os.listdir(directory) == ['0']
  assert not os.path.exists(f'{directory}_corrupt')


def test_layout_names_arrays_as_orbax_does():
  layout = checkpointing.layout(checkpointing._saveable_target(abstract(make_state(0))))
  assert layout['params.dense.kernel'] == ((3, 4), 'float32')
  assert layout['step'] == ((), 'int32')
  # A typed key is saved as its raw key data.
  assert layout['key'] == ((2,), 'uint32')
