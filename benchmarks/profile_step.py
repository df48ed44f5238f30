"""Where a config's train step spends its time on XLA:CPU, op by op.

  python benchmarks/profile_step.py --config=dcgan [--steps=10] [--top=30]

Builds the config's train call as train.py does (`speed.Timed`: compiled
with jaxgan's options, the config's steps_per_call steps per call), traces
`--steps` steps with `jax.profiler`, and prints the time of every compiled
op (XLA's fusion names, with the shape each produces) and the total by kind
of op, in ms per step. The step as XLA:CPU compiles it by default
(convolutions in YNNPACK) is `XLA_FLAGS=` speed.py's `XLA_DEFAULT_FLAGS`
before the command: jaxgan then passes no option of its own.

XLA:CPU runs some ops as named events on its threads and hands Eigen's
convolutions to a thread pool without one, so those convolutions show as
"not in a named op": the step's wall time less the time during which some
named op ran. `--convolutions` also times, alone and compiled as the step
is, each of the DCGAN's strided 4x4 convolutions (the ones its step runs
most) three ways: forward, input gradient (the transposed convolution) and
kernel gradient, with the GFLOP/s each reaches.

Overrides go after a colon, as in speed.py: `--config=dcgan:steps_per_call=1`.
"""

import argparse
import collections
import os
import re
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax
import numpy as np

from benchmarks import speed
from jaxgan.nn import convolutions
from jaxgan.train import compilation


def op_times(trace_dir: str) -> tuple[collections.Counter, float]:
  """(ns per op name, ns during which any named op ran) from a trace's XLA threads."""
  [path] = [
    os.path.join(d, f)
    for d, _, files in os.walk(trace_dir)
    for f in files
    if f.endswith('.xplane.pb')
  ]
  profile = jax.profiler.ProfileData.from_file(path)
  per_op = collections.Counter()
  intervals = []
  for plane in profile.planes:
    for line in plane.lines:
      if not line.name.startswith('tf_XLA'):  # XLA's compute threads.
        continue
      for event in line.events:
        # The executor's own spans hold the ops; waits are not work.
        if event.name.startswith(('ThunkExecutor', 'SlinkyThreadPool')):
          continue
        per_op[event.name] += event.duration_ns
        intervals.append((event.start_ns, event.start_ns + event.duration_ns))
  busy, end = 0.0, -float('inf')
  for start, stop in sorted(intervals):
    if stop > end:
      busy += stop - max(start, end)
      end = stop
  return per_op, busy


def op_shapes(compiled_text: str) -> dict[str, str]:
  """Op name -> the shape it produces, from compiled HLO text."""
  pattern = r'^\s*(?:ROOT )?%?([\w.\-]+) = (\S+) (fusion|convolution|copy|dot|transpose)\('
  return {m[0]: f'{m[2]} {m[1]}' for m in re.findall(pattern, compiled_text, re.MULTILINE)}


def profile(spec: str, num_steps: int, top: int) -> None:
  timed = speed.Timed(spec, None)
  timed.run(2 * timed.steps_per_call)  # Warm.
  shapes = op_shapes(timed.call.lower(timed.state, timed.batch).compile().as_text())
  with tempfile.TemporaryDirectory() as trace_dir:
    start = time.perf_counter()
    with jax.profiler.trace(trace_dir):
      timed.run(num_steps)
    wall_ns = (time.perf_counter() - start) * 1e9
    per_op, busy = op_times(trace_dir)
  steps = max(1, num_steps // timed.steps_per_call) * timed.steps_per_call
  ms = lambda ns: ns / 1e6 / steps
  print(f'{timed.label}: {ms(wall_ns):.1f} ms per step traced (the tracer adds a little).')
  print(f'named ops: {ms(sum(per_op.values())):.1f} ms per step summed over threads, ')
  print(f'{ms(busy):.1f} ms with at least one running; not in a named op: {ms(wall_ns - busy):.1f}')
  print('\n| op | produces | ms per step |\n| --- | --- | ---: |')
  for name, ns in per_op.most_common(top):
    print(f'| {name} | {shapes.get(name, "")} | {ms(ns):.2f} |')
  kinds = collections.Counter()
  for name, ns in per_op.items():
    kinds[re.sub(r'[.\d]+$', '', name)] += ns
  print('\n| kind of op | ms per step |\n| --- | ---: |')
  for kind, ns in kinds.most_common(top):
    print(f'| {kind} | {ms(ns):.2f} |')
  print(f'| not in a named op (Eigen convolutions, dispatch) | {ms(wall_ns - busy):.2f} |')


def _median_ms(fn, *args, repeats: int = 20) -> float:
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(5):
    start = time.perf_counter()
    for _ in range(repeats):
      result = fn(*args)
    jax.block_until_ready(result)
    times.append((time.perf_counter() - start) / repeats * 1e3)
  return statistics.median(times)


# The 28x28 DCGAN's strided 4x4 convolutions at batch 64, as (input, output
# channels) of the strided direction: D's two, and the two whose adjoints
# are G's transposed convolutions.
DCGAN_CONVOLUTIONS = {
  "D's first": ((64, 28, 28, 1), 64),
  "D's second": ((64, 14, 14, 64), 128),
  "G's first (14x14x128 from 7x7x256)": ((64, 14, 14, 128), 256),
  "G's second (28x28x64 from 14x14x128)": ((64, 28, 28, 64), 128),
}


def _strided_conv(x, kernel):
  return convolutions.conv2d(x, kernel, stride=2, padding=1)


def time_convolutions() -> None:
  rng = np.random.default_rng(0)
  print('\n| convolution | GFLOP | forward ms | input gradient ms | kernel gradient ms |')
  print('| --- | ---: | ---: | ---: | ---: |')
  for name, (shape, features) in DCGAN_CONVOLUTIONS.items():
    x = rng.standard_normal(shape).astype(np.float32)
    kernel = (0.02 * rng.standard_normal((4, 4, shape[-1], features))).astype(np.float32)
    forward = compilation.jit(_strided_conv)
    # Each gradient alone: XLA drops the forward pass whose output is unused.
    input_grad = compilation.jit(
      lambda x, k, dy: jax.vjp(lambda x: _strided_conv(x, k), x)[1](dy)[0]
    )
    kernel_grad = compilation.jit(
      lambda x, k, dy: jax.vjp(lambda k: _strided_conv(x, k), k)[1](dy)[0]
    )
    dy = rng.standard_normal(jax.eval_shape(_strided_conv, x, kernel).shape).astype(np.float32)
    gflop = 2 * dy.size * 16 * shape[-1] / 1e9
    times = [
      _median_ms(forward, x, kernel),
      _median_ms(input_grad, x, kernel, dy),
      _median_ms(kernel_grad, x, kernel, dy),
    ]
    cells = ' | '.join(f'{t:.1f} ({gflop / t * 1e3:.0f} GFLOP/s)' for t in times)
    print(f'| {name} | {gflop:.2f} | {cells} |')


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--config', default='dcgan')
  parser.add_argument('--steps', type=int, default=10)
  parser.add_argument('--top', type=int, default=30)
  parser.add_argument('--convolutions', action='store_true')
  args = parser.parse_args()
  print(f'jax {jax.__version__}, {jax.device_count()} {jax.default_backend()} device(s)')
  print(f'compiler options: {compilation.compiler_options()}')
  profile(args.config, args.steps, args.top)
  if args.convolutions:
    time_convolutions()


if __name__ == '__main__':
  main()
