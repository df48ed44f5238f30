"""Tests of the loop's data-parallel call: image conversion, K steps per call, host transfers."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import families
from jaxgan import parallel
from jaxgan.train import steps


def test_uint8_images_become_the_tanh_range_and_labels_stay():
  batch = {
    'real': {
      'image': np.array([0, 127, 128, 255], np.uint8),
      'label': np.array([0, 1, 2, 3], np.int32),
      'point': np.array([0.5, -2.0], np.float32),
    }
  }
  converted = steps.to_float_images(batch)['real']
  np.testing.assert_allclose(
    converted['image'], [-1.0, 127 / 127.5 - 1, 128 / 127.5 - 1, 1.0], atol=1e-7
  )
  assert converted['image'].dtype == jnp.float32
  np.testing.assert_array_equal(converted['label'], batch['real']['label'])
  np.testing.assert_array_equal(converted['point'], batch['real']['point'])


class _Counter:
  """A model whose step adds the batch's mean to a running sum: order-sensitive, exact."""

  def train_step(self, state, batch):
    images = batch['real']['image']
    total = state['total'] * 0.5 + jax.lax.pmean(jnp.mean(images), parallel.DATA_AXIS)
    return {'step': state['step'] + 1, 'total': total}, {'total': total}

  def state_partition(self, state):
    return families.replicated(state)


def test_a_call_of_k_steps_is_k_calls_of_one():
  mesh = parallel.make_data_mesh()
  model = _Counter()
  fresh = lambda: {'step': jnp.zeros((), jnp.int32), 'total': jnp.zeros(())}
  call = steps.make_train_call(model, mesh, model.state_partition(fresh()))
  images = np.random.default_rng(0).integers(0, 256, (4, 1, 8, 3), dtype=np.uint8)
  one_by_one = fresh()  # The call donates its state: each run starts from its own.
  for k in range(4):
    batch = steps.global_batches(mesh, {'real': {'image': images[k : k + 1]}}, 1)
    one_by_one, _ = call(one_by_one, batch)
  four, metrics = call(fresh(), steps.global_batches(mesh, {'real': {'image': images}}, 1))
  assert steps.step_of(four) == steps.step_of(one_by_one) == 4
  np.testing.assert_allclose(four['total'], one_by_one['total'], rtol=1e-6)
  # One metric value per step, the last being the state's.
  assert metrics['total'].shape == (4,)
  np.testing.assert_allclose(steps.to_host(metrics)['total'][-1], four['total'], rtol=1e-6)


def test_replicated_inputs_come_back_whole():
  mesh = parallel.make_data_mesh()
  inputs = {'z': np.arange(6.0).reshape(3, 2)}
  np.testing.assert_array_equal(steps.to_host(steps.replicate(mesh, inputs))['z'], inputs['z'])


class _Exploding:
  """A model whose step multiplies its weight by the batch's mean, counting steps."""

  def train_step(self, state, batch):
    scale = jax.lax.pmean(jnp.mean(batch['real']['x']), parallel.DATA_AXIS)
    weight = state['weight'] * scale
    return {'step': state['step'] + 1, 'weight': weight}, {'loss': jnp.sum(weight)}

  def state_partition(self, state):
    return families.replicated(state)


def _exploding_run(nonfinite, scales):
  mesh = parallel.make_data_mesh()
  model = _Exploding()
  state = {'step': jnp.zeros((), jnp.int32), 'weight': jnp.ones((3,))}
  call = steps.make_train_call(model, mesh, model.state_partition(state), nonfinite=nonfinite)
  x = np.broadcast_to(np.asarray(scales, np.float32)[:, None, None], (len(scales), 1, 8))
  return call(state, steps.global_batches(mesh, {'real': {'x': np.array(x)}}, 1))


def test_each_step_says_whether_all_it_produced_is_finite():
  # The second step overflows float32 (1e30 * 1e30), the third makes NaN (inf * 0).
  state, metrics = _exploding_run('halt', [1e30, 1e30, 0.0, 2.0])
  np.testing.assert_array_equal(steps.to_host(metrics)[steps.FINITE_METRIC], [1, 0, 0, 0])
  # 'halt' changes nothing on the devices: the loop stops before saving.
  assert steps.step_of(state) == 4
  assert np.isnan(np.asarray(state['weight'])).all()


def test_skip_drops_a_bad_steps_floats_and_moves_its_counters_on():
  state, metrics = _exploding_run('skip', [2.0, 1e30, 1e30, 3.0])
  np.testing.assert_array_equal(steps.to_host(metrics)[steps.FINITE_METRIC], [1, 1, 0, 1])
  # 1 * 2 * 1e30, the overflow dropped, then * 3; the step counts all four.
  np.testing.assert_allclose(np.asarray(state['weight']), [6e30] * 3, rtol=1e-6)
  assert steps.step_of(state) == 4


def test_finiteness_looks_at_floats_only():
  assert bool(steps.all_finite({'count': jnp.int32(2**31 - 1), 'x': jnp.ones(2)}))
  assert not bool(steps.all_finite({'x': jnp.array([1.0, jnp.inf])}))
  assert bool(steps.all_finite({}))


def test_a_stacked_call_trains_each_run_as_a_call_of_its_own():
  mesh = parallel.make_data_mesh()
  model = _Counter()
  fresh = lambda total: {'step': jnp.zeros((), jnp.int32), 'total': jnp.full((), total)}
  partition = model.state_partition(fresh(0.0))
  images = np.random.default_rng(1).integers(0, 256, (3, 4, 1, 8, 3), dtype=np.uint8)
  alone = steps.make_train_call(model, mesh, partition)
  separate = [
    alone(fresh(float(run)), steps.global_batches(mesh, {'real': {'image': images[run]}}, 1))[0]
    for run in range(3)
  ]
  stacked_call = steps.make_train_call(model, mesh, partition, stacked=True)
  runs = jax.tree.map(lambda *x: jnp.stack(x), *[fresh(float(run)) for run in range(3)])
  batches = steps.global_batches(mesh, {'real': {'image': images}}, 1, stacked=True)
  runs, metrics = stacked_call(runs, batches)
  # Each run its own start, its own batches and its own steps.
  np.testing.assert_allclose(runs['total'], [s['total'] for s in separate], rtol=1e-6)
  np.testing.assert_array_equal(runs['step'], [4, 4, 4])
  assert len({float(s['total']) for s in separate}) == 3
  # One value per step and run.
  assert metrics['total'].shape == (4, 3)
  np.testing.assert_allclose(steps.to_host(metrics)['total'][-1], runs['total'], rtol=1e-6)


def test_a_stacked_call_drops_only_the_bad_runs_step():
  mesh = parallel.make_data_mesh()
  model = _Exploding()
  one = {'step': jnp.zeros((), jnp.int32), 'weight': jnp.ones((3,))}
  call = steps.make_train_call(
    model, mesh, model.state_partition(one), nonfinite='skip', stacked=True
  )
  # Run 0 overflows at its second step; run 1 never does.
  scales = np.array([[2.0, 1e30, 1e30, 3.0], [2.0, 2.0, 2.0, 2.0]], np.float32)
  x = np.array(np.broadcast_to(scales[:, :, None, None], (2, 4, 1, 8)))
  runs = jax.tree.map(lambda a: jnp.stack([a, a]), one)
  runs, metrics = call(runs, steps.global_batches(mesh, {'real': {'x': x}}, 1, stacked=True))
  np.testing.assert_array_equal(
    steps.to_host(metrics)[steps.FINITE_METRIC], [[1, 1], [1, 1], [0, 1], [1, 1]]
  )
  np.testing.assert_allclose(np.asarray(runs['weight'])[:, 0], [6e30, 16.0], rtol=1e-6)
