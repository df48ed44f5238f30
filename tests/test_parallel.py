"""Tests of the data mesh and of randomness keyed per example."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from jaxgan import parallel


def test_make_data_mesh_has_one_data_axis_over_the_devices_given():
  mesh = parallel.make_data_mesh()
  assert mesh.axis_names == (parallel.DATA_AXIS,) == ('data',)
  assert mesh.size == jax.device_count()
  one = parallel.make_data_mesh(jax.devices()[:1])
  assert one.size == 1 and list(one.devices.flat) == jax.devices()[:1]


def test_example_i_draws_from_the_key_folded_with_i():
  key = jax.random.key(2)
  noise = parallel.example_normal(key, (2, 3), first_example=5, batch_size=4)
  assert noise.shape == (4, 2, 3) and noise.dtype == jnp.float32
  for row, index in enumerate(range(5, 9)):
    expected = jax.random.normal(jax.random.fold_in(key, index), (2, 3))
    np.testing.assert_array_equal(noise[row], expected)


def test_noise_does_not_depend_on_how_the_batch_is_split():
  key = jax.random.key(3)
  whole = parallel.example_normal(key, (5,), first_example=0, batch_size=8)
  halves = [parallel.example_normal(key, (5,), first_example=i, batch_size=4) for i in (0, 4)]
  np.testing.assert_array_equal(whole, np.concatenate(halves))
  assert abs(float(jnp.std(whole)) - 1) < 0.5


def test_labels_do_not_depend_on_how_the_batch_is_split():
  key = jax.random.key(4)
  whole = parallel.example_labels(key, first_example=0, batch_size=3000, num_classes=10)
  halves = [
    parallel.example_labels(key, first_example=i, batch_size=1500, num_classes=10)
    for i in (0, 1500)
  ]
  assert whole.dtype == jnp.int32
  np.testing.assert_array_equal(whole, np.concatenate(halves))
  counts = np.bincount(np.asarray(whole), minlength=10)
  assert len(counts) == 10
  assert counts.min() > 240 and counts.max() < 360, counts  # 300 each, give or take.


def test_uniforms_are_in_the_unit_interval_and_make_the_labels():
  key = jax.random.key(5)
  uniforms = parallel.example_uniforms(key, first_example=3, batch_size=1000)
  assert uniforms.shape == (1000,)
  assert 0 <= float(jnp.min(uniforms)) and float(jnp.max(uniforms)) < 1
  assert abs(float(jnp.mean(uniforms)) - 0.5) < 0.05
  labels = parallel.example_labels(key, first_example=3, batch_size=1000, num_classes=7)
  np.testing.assert_array_equal(labels, np.floor(np.asarray(uniforms) * 7).astype(np.int32))


def test_first_example_is_the_devices_offset_in_the_global_batch():
  mesh = parallel.make_data_mesh()
  local_batch = 3
  first = jax.shard_map(
    lambda: parallel.first_example(local_batch)[None],
    mesh=mesh,
    in_specs=(),
    out_specs=P(parallel.DATA_AXIS),
  )()
  np.testing.assert_array_equal(first, np.arange(mesh.size) * local_batch)
