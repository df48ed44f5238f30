"""Tests of saving and restoring a run's state and data position."""

import logging
import os

import chex
import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.train import checkpointing
from jaxgan.families.classic import step as step_lib
from tests.test_state import make_state


def replicated(state):
  return jax.device_put(state, NamedSharding(step_lib.make_data_mesh(), P()))


def abstract(state):
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)


def assert_same_state(a, b):
  chex.assert_trees_all_equal(
    a.replace(key=jax.random.key_data(a.key)), b.replace(key=jax.random.key_data(b.key))
  )
  assert a.key.dtype == b.key.dtype


def test_round_trip_keeps_everything_and_the_last_k(tmp_path):
  checkpointer = checkpointing.Checkpointer(str(tmp_path / 'checkpoints'), max_to_keep=2)
  states = {}
  for step in (1, 2, 3):
    states[step] = replicated(make_state(step).replace(step=np.int32(step)))
    checkpointer.save(states[step], {'epoch': 0, 'index': step})
  checkpointer.save(states[3], {'epoch': 9, 'index': 9})  # Same step: not saved again.
  checkpointer.wait()
  assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['2', '3']
  assert checkpointer.latest_step() == 3
  restored, position = checkpointer.restore_latest(abstract(states[3]))
  checkpointer.close()
  assert position == {'epoch': 0, 'index': 3}
  assert_same_state(restored, states[3])
  assert restored.generator_params['dense_0']['kernel'].sharding == (
    states[3].generator_params['dense_0']['kernel'].sharding
  )


def test_no_checkpoint(tmp_path):
  checkpointer = checkpointing.Checkpointer(str(tmp_path), max_to_keep=2)
  assert checkpointer.restore_latest(abstract(replicated(make_state(0)))) is None
  checkpointer.close()


def test_damaged_and_partial_step_folders_are_set_aside(tmp_path, caplog):
  directory = str(tmp_path / 'checkpoints')
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  good = replicated(make_state(0).replace(step=np.int32(1)))
  checkpointer.save(good, {'epoch': 0, 'index': 1})
  checkpointer.save(good.replace(step=np.int32(2)), {'epoch': 0, 'index': 2})
  checkpointer.close()
  # Step 2 loses its array data; step 3 is an empty folder, as a copy that
  # stopped at once would leave.
  for root, _, files in os.walk(os.path.join(directory, '2', 'state')):
    for name in files:
      open(os.path.join(root, name), 'w').close()
  os.makedirs(os.path.join(directory, '3'))

  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  with caplog.at_level(logging.WARNING):
    restored, position = checkpointer.restore_latest(abstract(good))
  checkpointer.close()
  assert position == {'epoch': 0, 'index': 1}
  assert_same_state(restored, good)
  assert 'Checkpoint at step 2' in caplog.text
  assert sorted(os.listdir(directory)) == ['1']
  assert len(os.listdir(directory + '_corrupt')) >= 1


def test_a_checkpoint_of_another_state_layout_is_refused_and_kept(tmp_path):
  directory = str(tmp_path / 'checkpoints')
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=2)
  state = replicated(make_state(0))
  checkpointer.save(state, {'epoch': 0, 'index': 0})
  checkpointer.wait()
  # The same run with a moving average of G: a field the checkpoint lacks
  # and cannot fill. Not damage, so the checkpoint stays where it is.
  with_average = state.replace(generator_ema_params=state.generator_params)
  with pytest.raises(ValueError, match='another version of jaxgan or with another config'):
    checkpointer.restore_latest(abstract(with_average))
  checkpointer.close()
  assert os.listdir(directory) == ['0']
  assert not os.path.exists(directory + '_corrupt')
