"""Forward+backward time of minibatch discrimination: two ways to sum the L1 distances.

Run by hand (from the repo root, about 1 minute on 2 cores):

  python benchmarks/minibatch_discrimination_speed.py

'layer' is `jaxgan.nn.remedies.MinibatchDiscrimination`: it sums |M_i - M_j|
over the C kernel dimensions one at a time, C (batch, batch, B) terms.
'one_tensor' builds the whole (batch, batch, B, C) difference and reduces
its last axis: the same numbers, in one expression. Each is jitted as the
value and gradient of sum(o^2) in the features and T, and timed after a
warm-up call (median of --repeats runs of --calls calls). Shapes: the 2-D
mode-collapse benchmark's D (batch 100, A 200 features) and the stacked
MNIST DCGAN's (batch 64, A 7*7*128), both with B 100, C 5.

Measured 2026-11-24, jax 0.10.2, 2 CPU cores, nothing else running; ms
per forward + backward, two runs of the command one after the other:

  | shape                      | one_tensor  | layer      | one_tensor / layer |
  | ---                        | ---:        | ---:       | ---:               |
  | 2-D benchmark (100 x 200)  | 54.6, 55.8  | 10.8, 8.4  | 5.0x, 6.7x         |
  | stacked MNIST (64 x 6272)  | 23.5, 21.4  | 15.0, 15.8 | 1.6x, 1.4x         |

'one_tensor''s forward pass alone took 3 to 5 ms at the 2-D shape
(`jax.jit(one_tensor)`, timed the same way by hand), so nearly all of its
time is the backward pass of the 4-D reduction. At the stacked-MNIST shape
the einsum with T (A = 6272) takes most of either's time. The same layer
written as `for m_c in m` rather than `m[c] for c in range(C)` took 2.7 to
3 times as long at the 2-D shape (24.2 to 27.7 ms, timed the same way by
hand): iterating over an array splits it, and the split's backward pass is
slow here.
"""

import argparse
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jaxgan.nn import remedies  # pylint: disable=g-import-not-at-top

SHAPES = {'2-D benchmark (100 x 200)': (100, 200), 'stacked MNIST (64 x 6272)': (64, 7 * 7 * 128)}


def one_tensor(features: jax.Array, kernel: jax.Array) -> jax.Array:
  """The closeness features o, from one (batch, batch, B, C) difference."""
  m = jnp.einsum('na,abc->nbc', features, kernel)
  distances = jnp.sum(jnp.abs(m[:, None] - m[None]), axis=-1)
  not_self = 1.0 - jnp.eye(features.shape[0], dtype=distances.dtype)
  return jnp.sum(jnp.exp(-distances) * not_self[:, :, None], axis=1)


def layer(features: jax.Array, kernel: jax.Array) -> jax.Array:
  """The closeness features o, from jaxgan's layer."""
  module = remedies.MinibatchDiscrimination(num_kernels=kernel.shape[1], kernel_dim=kernel.shape[2])
  return module.apply({'params': {'kernel': kernel}}, features)[:, features.shape[1] :]


def time_ms(fn, args, *, calls: int, repeats: int) -> float:
  """Median over `repeats` of the mean time of `calls` calls, in ms."""
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(calls):
      jax.block_until_ready(fn(*args))
    times.append((time.perf_counter() - start) / calls * 1e3)
  return statistics.median(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--num_kernels', type=int, default=100)
  parser.add_argument('--kernel_dim', type=int, default=5)
  parser.add_argument('--calls', type=int, default=20)
  parser.add_argument('--repeats', type=int, default=5)
  args = parser.parse_args()

  print(f'jax {jax.__version__}, {jax.devices()[0].platform}')
  print('| shape | one_tensor | layer | one_tensor / layer |')
  print('| --- | ---: | ---: | ---: |')
  for name, (batch, a) in SHAPES.items():
    features = jax.random.normal(jax.random.key(0), (batch, a))
    # Scaled so that the closeness values are neither all 0 nor all 1.
    kernel = jax.random.normal(jax.random.key(1), (a, args.num_kernels, args.kernel_dim)) / a
    np.testing.assert_allclose(layer(features, kernel), one_tensor(features, kernel), rtol=1e-4)
    ms = {}
    for fn in (one_tensor, layer):
      loss = lambda f, k, fn=fn: jnp.sum(fn(f, k) ** 2)
      step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
      ms[fn.__name__] = time_ms(step, (features, kernel), calls=args.calls, repeats=args.repeats)
    ratio = ms['one_tensor'] / ms['layer']
    print(f'| {name} | {ms["one_tensor"]:.1f} | {ms["layer"]:.1f} | {ratio:.1f}x |')


if __name__ == '__main__':
  main()
