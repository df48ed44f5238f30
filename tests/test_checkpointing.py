"""Tests of saving and restoring a run's state and data positions."""

import logging
import os
import shutil

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


def big_state(seed):
  """A state with one array large enough to take a 4 KiB run of flipped bytes."""
  rng = np.random.default_rng(seed)
  state = {'step': np.int32(seed), 'weights': rng.normal(size=(256, 256)).astype(np.float32)}
  return jax.device_put(state, NamedSharding(parallel.make_data_mesh(), P()))


def flip_bytes_in_the_largest_file(step_folder, count=4096):
  files = [
    os.path.join(root, name) for root, _, names in os.walk(step_folder) for name in names
  ]
  path = max(files, key=os.path.getsize)
  content = bytearray(open(path, 'rb').read())
  middle = len(content) // 2
  content[middle : middle + count] = bytes(b ^ 0xFF for b in content[middle : middle + count])
  open(path, 'wb').write(bytes(content))


def save_two_the_second_rotten(directory):
  """Checkpoints 1 and 2 of `big_state`, 4 KiB of 2's data flipped; returns state 1."""
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  good = big_state(1)
  checkpointer.save(1, good, {'real': {'next_batch': 1}})
  checkpointer.save(2, big_state(2), {'real': {'next_batch': 2}})
  checkpointer.close()
  flip_bytes_in_the_largest_file(directory / '2' / 'state')
  return good


def test_checksums_name_each_array_and_change_with_one_bit():
  state = checkpointing._to_saveable(make_state(0))
  sums = checkpointing.checksums(state)
  assert sorted(sums) == sorted(checkpointing.layout(state))
  flipped = jax.tree.map(lambda x: x, state)
  kernel = np.array(flipped['params']['dense']['kernel'])
  kernel.view(np.uint32)[1, 2] ^= 1  # The lowest bit of one float.
  flipped['params']['dense']['kernel'] = kernel
  changed = checkpointing.checksums(flipped)
  assert [name for name in sums if sums[name] != changed[name]] == ['params.dense.kernel']


def test_bit_rot_is_found_by_the_checksums_and_the_checkpoint_set_aside(tmp_path, caplog):
  directory = tmp_path / 'checkpoints'
  good = save_two_the_second_rotten(directory)

  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  with caplog.at_level(logging.WARNING):
    restored, _ = checkpointer.restore_latest(abstract(good))
  checkpointer.close()
  np.testing.assert_array_equal(restored['weights'], good['weights'])
  # Orbax reads the rotten bytes without complaint; the checksum does not match.
  assert 'weights' in caplog.text and 'differ from their checksums' in caplog.text
  assert sorted(os.listdir(directory)) == ['1']
  assert os.listdir(f'{directory}_corrupt')[0].startswith('2-')


def test_a_read_only_checkpointer_skips_damage_and_moves_nothing(tmp_path, caplog):
  directory = tmp_path / 'checkpoints'
  good = save_two_the_second_rotten(directory)

  reader = checkpointing.Checkpointer(directory, max_to_keep=5, read_only=True)
  with caplog.at_level(logging.WARNING):
    restored, _ = reader.restore_latest(abstract(good))
  with pytest.raises(ValueError, match='read-only'):
    reader.save(3, good, {})
  reader.close()
  np.testing.assert_array_equal(restored['weights'], good['weights'])
  assert 'Checkpoint at step 2' in caplog.text
  assert sorted(os.listdir(directory)) == ['1', '2']
  assert not os.path.exists(f'{directory}_corrupt')
  # Nor does it create a folder that is not there.
  missing = checkpointing.Checkpointer(tmp_path / 'none', max_to_keep=1, read_only=True)
  missing.close()
  assert not os.path.exists(tmp_path / 'none')


def test_data_positions_that_fail_the_check_count_as_damage(tmp_path):
  directory = tmp_path / 'checkpoints'
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  good = make_state(1)
  checkpointer.save(1, good, {'real': {'next_batch': 1}})
  checkpointer.save(2, make_state(2), {'real': {'epoch': 0, 'index': 999999}})
  checkpointer.wait()

  def check_data(data_state):
    if 'next_batch' not in data_state['real']:
      raise ValueError('not a data position')

  restored, data_state = checkpointer.restore_latest(abstract(good), check_data=check_data)
  checkpointer.close()
  assert data_state == {'real': {'next_batch': 1}}
  assert_same_state(restored, good)
  assert sorted(os.listdir(directory)) == ['1']


def test_a_damaged_checkpoint_that_cannot_be_moved_stops_with_one_line(tmp_path, monkeypatch):
  directory = tmp_path / 'checkpoints'
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  checkpointer.save(1, make_state(1), {'real': {'next_batch': 1}})
  checkpointer.close()
  os.makedirs(directory / '2')  # Damaged: an empty step folder.

  # As for a folder this user may not move (as root, permissions cannot show it).
  def refuse(self, target):
    raise PermissionError(13, 'Permission denied', str(self))

  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  monkeypatch.setattr(type(checkpointer.directory), 'rename', refuse)
  with pytest.raises(checkpointing.DamagedCheckpointError) as error:
    checkpointer.restore_latest(abstract(make_state(1)))
  monkeypatch.undo()
  checkpointer.close()
  message = str(error.value)
  assert 'step 2' in message and 'PermissionError' in message and 'yourself' in message
  assert '\n' not in message
  assert sorted(os.listdir(directory)) == ['1', '2']


def test_a_checkpoint_without_checksums_is_read_with_a_warning(tmp_path, caplog):
  directory = tmp_path / 'checkpoints'
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  good = make_state(1)
  checkpointer.save(1, good, {'real': {'next_batch': 1}})
  checkpointer.close()
  shutil.rmtree(directory / '1' / 'checksums')
  checkpointer = checkpointing.Checkpointer(directory, max_to_keep=5)
  with caplog.at_level(logging.WARNING):
    restored, _ = checkpointer.restore_latest(abstract(good))
  checkpointer.close()
  assert_same_state(restored, good)
  assert 'has no checksums' in caplog.text
