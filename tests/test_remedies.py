"""Tests of the mode-collapse remedies against direct computations."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.nn import remedies

# ---------------------------------------------------------------------------
# Minibatch discrimination.


def _apply_minibatch_discrimination(features, kernel):
  module = remedies.MinibatchDiscrimination(num_kernels=kernel.shape[1], kernel_dim=kernel.shape[2])
  return jax.jit(module.apply)({'params': {'kernel': kernel}}, features)


def _minibatch_discrimination_numpy(features, kernel):
  """The paper's formulas, one pair at a time, with j = i left out."""
  m = np.einsum('na,abc->nbc', features, kernel)
  n, num_kernels = features.shape[0], kernel.shape[1]
  o = np.zeros((n, num_kernels))
  for i in range(n):
    for j in range(n):
      if j != i:
        o[i] += np.exp(-np.sum(np.abs(m[i] - m[j]), axis=-1))
  return np.concatenate([features, o], axis=-1)


def test_minibatch_discrimination_init_shapes():
  module = remedies.MinibatchDiscrimination(num_kernels=5, kernel_dim=3)
  features = jnp.ones((4, 6))
  variables = jax.eval_shape(module.init, jax.random.key(0), features)
  chex.assert_shape(variables['params']['kernel'], (6, 5, 3))
  chex.assert_shape(jax.eval_shape(module.apply, variables, features), (4, 6 + 5))


def test_minibatch_discrimination_by_hand():
  # A = B = C = 1, T = 1: M_i = f(x_i), so c(x_i, x_j) = exp(-|f_i - f_j|).
  features = jnp.array([[0.0], [1.0], [3.0]])
  out = _apply_minibatch_discrimination(features, jnp.ones((1, 1, 1)))
  e = np.exp
  np.testing.assert_allclose(out[:, 1], [e(-1) + e(-3), e(-1) + e(-2), e(-3) + e(-2)], rtol=1e-6)
  np.testing.assert_allclose(out[:, 0], features[:, 0])


@pytest.mark.parametrize('batch,a,num_kernels,kernel_dim', [(3, 4, 2, 3), (5, 2, 3, 1)])
def test_minibatch_discrimination_matches_numpy(batch, a, num_kernels, kernel_dim):
  rng = np.random.default_rng(0)
  # Small scales, so that the closeness values are not all underflowed to 0.
  features = (0.3 * rng.normal(size=(batch, a))).astype(np.float32)
  kernel = (0.3 * rng.normal(size=(a, num_kernels, kernel_dim))).astype(np.float32)
  out = _apply_minibatch_discrimination(features, kernel)
  chex.assert_shape(out, (batch, a + num_kernels))
  expected = _minibatch_discrimination_numpy(np.asarray(features), np.asarray(kernel))
  assert np.all(expected[:, a:] > 1e-3)  # The case tests something.
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_minibatch_discrimination_gradient_matches_the_pairwise_formula():
  # The layer sums the L1 distances one kernel dimension at a time, for speed;
  # its gradient must still be that of the paper's formula, written here one
  # pair at a time (as the numpy reference) and differentiated by JAX.
  def pairwise(features, kernel):
    m = jnp.einsum('na,abc->nbc', features, kernel)
    n = features.shape[0]
    return jnp.stack(
      [
        sum(jnp.exp(-jnp.sum(jnp.abs(m[i] - m[j]), axis=-1)) for j in range(n) if j != i)
        for i in range(n)
      ]
    )

  def closeness(features, kernel):
    return _apply_minibatch_discrimination(features, kernel)[:, features.shape[1] :]

  rng = np.random.default_rng(1)
  features = jnp.asarray(0.3 * rng.normal(size=(4, 3)), jnp.float32)
  kernel = jnp.asarray(0.3 * rng.normal(size=(3, 2, 3)), jnp.float32)
  weights = jnp.asarray(rng.normal(size=(4, 2)), jnp.float32)  # A generic downstream loss.
  grads = jax.grad(lambda f, k: jnp.sum(weights * closeness(f, k)), argnums=(0, 1))
  expected = jax.grad(lambda f, k: jnp.sum(weights * pairwise(f, k)), argnums=(0, 1))
  got, want = grads(features, kernel), expected(features, kernel)
  assert float(jnp.min(jnp.abs(want[1]))) > 0  # Every entry of T gets a gradient.
  chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('batch', [1, 4])
def test_minibatch_discrimination_identical_inputs(batch):
  features = jnp.tile(jnp.array([[0.5, -1.0, 2.0]]), (batch, 1))
  kernel = jnp.linspace(-1.0, 1.0, 3 * 4 * 2).reshape(3, 4, 2)
  module = remedies.MinibatchDiscrimination(num_kernels=4, kernel_dim=2)
  apply = lambda f, k: module.apply({'params': {'kernel': k}}, f)
  out, grad = jax.jit(
    lambda f, k: (apply(f, k), jax.grad(lambda f, k: jnp.sum(apply(f, k)), argnums=(0, 1))(f, k))
  )(features, kernel)
  # Every other sample is at distance 0: o = batch - 1 per kernel.
  np.testing.assert_allclose(out[:, 3:], np.full((batch, 4), batch - 1.0))
  # |0| at every pair: the gradient is still finite.
  chex.assert_tree_all_finite(grad)


def test_minibatch_discrimination_rejects_unflattened_input():
  module = remedies.MinibatchDiscrimination(num_kernels=2, kernel_dim=2)
  with pytest.raises(ValueError, match='flatten'):
    module.init(jax.random.key(0), jnp.ones((2, 3, 3, 1)))


# ---------------------------------------------------------------------------
# Minibatch standard deviation.


def _minibatch_stddev_numpy(x, group_size, epsilon=1e-8):
  out = []
  for start in range(0, x.shape[0], group_size):
    group = x[start : start + group_size]
    std = np.sqrt(np.mean((group - group.mean(axis=0)) ** 2, axis=0) + epsilon)
    out += [np.full(x.shape[1:-1] + (1,), std.mean())] * group.shape[0]
  return np.concatenate([x, np.stack(out)], axis=-1)


@pytest.mark.parametrize(
  'shape,group_size',
  [
    ((4, 3, 2, 2), 2),
    ((4, 3, 2, 2), 4),
    ((6, 2, 2, 3), 3),
    ((3, 2, 2, 1), 4),  # Batch smaller than the group: one group of 3.
    ((4, 5), 2),  # Vector features.
  ],
  ids=['groups_of_2', 'one_group', 'groups_of_3', 'batch_smaller_than_group', 'vectors'],
)
def test_minibatch_stddev_matches_numpy(shape, group_size):
  x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
  out = jax.jit(remedies.MinibatchStdDev(group_size=group_size).apply)({}, x)
  chex.assert_shape(out, shape[:-1] + (shape[-1] + 1,))
  np.testing.assert_allclose(
    out, _minibatch_stddev_numpy(np.asarray(x), min(group_size, shape[0])), rtol=1e-5
  )


def test_minibatch_stddev_by_hand():
  # One group of 2, one pixel, one channel: values 0 and 2, population std 1.
  x = jnp.array([0.0, 2.0]).reshape(2, 1, 1, 1)
  out = jax.jit(lambda x: remedies.minibatch_stddev(x, group_size=2, epsilon=0.0))(x)
  np.testing.assert_allclose(out[..., 1], np.ones((2, 1, 1)))


def test_minibatch_stddev_zero_for_identical_samples_in_a_group():
  # Groups are consecutive samples: (a, a) and (b, b), a != b.
  a, b = np.random.default_rng(0).normal(size=(2, 1, 3, 3, 2)).astype(np.float32)
  x = jnp.concatenate([a, a, b, b])
  stat = lambda x, group_size: remedies.minibatch_stddev(x, group_size=group_size)[..., -1]
  in_pairs, whole_batch, grad = jax.jit(
    lambda x: (stat(x, 2), stat(x, 4), jax.grad(lambda x: jnp.sum(stat(x, 2)))(x))
  )(x)
  # sqrt(0 + epsilon) = 1e-4: zero up to the epsilon.
  np.testing.assert_allclose(in_pairs, 0.0, atol=2e-4)
  # Over the whole batch the samples differ.
  assert float(jnp.min(whole_batch)) > 0.1
  # The epsilon keeps the gradient finite at zero variance.
  chex.assert_tree_all_finite(grad)


def test_minibatch_stddev_rejects_group_that_does_not_divide_the_batch():
  with pytest.raises(ValueError, match='does not divide'):
    remedies.MinibatchStdDev(group_size=4).apply({}, jnp.ones((6, 2, 2, 1)))


# ---------------------------------------------------------------------------
# PacGAN packing.


@pytest.mark.parametrize('m', [1, 2, 3])
def test_pack_image_layout(m):
  batch, h, w, c = 6, 2, 3, 2
  x = np.arange(batch * h * w * c, dtype=np.float32).reshape(batch, h, w, c)
  packed = jax.jit(remedies.pack, static_argnums=1)(x, m)
  chex.assert_shape(packed, (batch // m, h, w, m * c))
  x, packed = np.asarray(x), np.asarray(packed)
  for k in range(batch // m):
    for j in range(m):
      # Channels j*C .. j*C + C - 1 of packed sample k are sample k*m + j.
      np.testing.assert_array_equal(packed[k, :, :, j * c : (j + 1) * c], x[k * m + j])


def test_pack_vectors_exact():
  x = jnp.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])
  np.testing.assert_array_equal(remedies.pack(x, 2), [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]])


def test_packed_groups_hold_only_consecutive_samples():
  # Each sample is constant, equal to its index.
  batch, m = 8, 4
  x = jnp.broadcast_to(jnp.arange(batch, dtype=jnp.float32)[:, None, None, None], (batch, 2, 2, 3))
  packed = np.asarray(remedies.pack(x, m))
  for k in range(batch // m):
    assert set(np.unique(packed[k])) == set(range(k * m, (k + 1) * m))


@pytest.mark.parametrize('m', [0, 4])
def test_pack_rejects_m_that_does_not_divide_the_batch(m):
  with pytest.raises(ValueError, match='divide the batch'):
    remedies.pack(jnp.ones((6, 2, 2, 1)), m)
