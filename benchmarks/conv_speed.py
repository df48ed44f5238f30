"""Forward+backward time of the 28x28 DCGAN conv stack: 'xla' vs 'fast' layers.

Run by hand:

  PYTHONPATH=. python benchmarks/conv_speed.py   # about 3 minutes on 2 cores
  XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-individual_convolution \\
      PYTHONPATH=. python benchmarks/conv_speed.py

G: 7x7x256 -> ConvT 128 k4s2p1 -> ConvT 64 k4s2p1 -> Conv 1 k3s1p1 (28x28x1);
D: Conv 64 k4s2p1 -> Conv 128 k4s2p1 (7x7x128); batch 64. One step is the
value and gradient of mean(D(G(h))) in G's and D's parameters and an SGD
update, jitted; timed after a warm-up call, median of several repeats. The
scan variant runs the same step `--scan-steps` times in one `lax.scan`.

Measured with jax 0.10.2, batch 64, on a 2-core CPU shared with other work:
the fast path's step time flips between ~150 ms and ~300 ms as the other
work takes a core or not, so compare figures from neighbouring runs only.
ms per step, --repeats 3:

  | variant                | xla    | fast  | xla / fast |
  | ---                    | ---:   | ---:  | ---:       |
  | jitted step            | 3715   | 308   | 12.1x      |
  | in lax.scan (4 steps)  | 11441  | 277   | 41.3x      |

The same with XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-individual_convolution
(the flag exists in jax 0.10.2's XLA):

  | jitted step            | 3476   | 160   | 21.8x      |
  | in lax.scan (4 steps)  | 9332   | 144   | 64.8x      |

Most of the fast path's 2x between the two tables is the machine's load, not
the flag: five alternating fast-only runs (`--implementations fast
--repeats 5` / 7) without / with the flag gave jitted 167 / 142, 165 / 277,
304 / 301, 308 / 289, 323 / 142 ms. Where load was alike the flag saved
0 to 15% (op-level: 10 to 40% on the input and kernel gradients of the big
transposed convs, nothing on their forward); on 'xla' it saved 5 to 20%, which
leaves 'xla' 10 to 60 times slower either way.

The flag is for measurement only: XLA versions that do not know it abort at
start-up, so it must never go into library code.
"""

import argparse
import os
import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn import convolutions


class Stack(nn.Module):
  """The conv layers of the 28x28 DCGAN's G followed by D's, without dense layers."""

  implementation: str

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    conv_t = lambda f: convolutions.ConvTranspose(
      f, 4, stride=2, padding=1, implementation=self.implementation
    )
    conv = lambda f, k, s: convolutions.Conv(
      f, k, stride=s, padding=1, implementation=self.implementation
    )
    x = nn.relu(conv_t(128)(h))  # 7 -> 14
    x = nn.relu(conv_t(64)(x))  # 14 -> 28
    x = jnp.tanh(conv(1, 3, 1)(x))  # G's output, 28x28x1
    x = nn.leaky_relu(conv(64, 4, 2)(x), 0.2)  # 28 -> 14
    return nn.leaky_relu(conv(128, 4, 2)(x), 0.2)  # 14 -> 7


def make_step(implementation: str):
  """One SGD step on mean(D(G(h))): forward, backward and a cheap update."""
  model = Stack(implementation)

  def step(params, h):
    loss, grads = jax.value_and_grad(lambda p: jnp.mean(model.apply(p, h)))(params)
    # The update keeps scan iterations dependent, so none can be hoisted.
    return jax.tree.map(lambda p, g: p - 1e-3 * g, params, grads), loss

  return model, step


def median_seconds(fn, args, repeats: int) -> float:
  jax.block_until_ready(fn(*args))  # Warm-up: compiles.
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--scan-steps', type=int, default=4)
  parser.add_argument(
    '--implementations', default='xla,fast', help="comma-separated; 'fast' alone takes seconds"
  )
  args = parser.parse_args()

  h = jax.random.normal(jax.random.key(0), (args.batch, 7, 7, 256))
  print(
    f'jax {jax.__version__}, backend {jax.default_backend()}, '
    f'XLA_FLAGS={os.environ.get("XLA_FLAGS", "")!r}, batch {args.batch}'
  )
  results = {}
  for implementation in args.implementations.split(','):
    model, step = make_step(implementation)
    params = model.init(jax.random.key(1), h)

    def scanned(params, h, step=step):
      return jax.lax.scan(lambda p, _: step(p, h), params, length=args.scan_steps)

    results[implementation] = (
      median_seconds(jax.jit(step), (params, h), args.repeats),
      median_seconds(jax.jit(scanned), (params, h), args.repeats) / args.scan_steps,
    )
    print(
      f'{implementation:>5}: jitted step {1e3 * results[implementation][0]:8.1f} ms, '
      f'in lax.scan {1e3 * results[implementation][1]:8.1f} ms/step',
      flush=True,
    )
  if not {'xla', 'fast'} <= results.keys():
    return
  for i, name in enumerate(('jitted step', f'lax.scan ({args.scan_steps} steps)')):
    print(f'xla / fast, {name}: {results["xla"][i] / results["fast"][i]:.1f}x')


if __name__ == '__main__':
  main()
