"""CycleGAN's 7x7 image layers on 2x2 pixel blocks, against the same convolutions unblocked.

  python benchmarks/blocked_conv_speed.py               # CycleGAN's layers
  python benchmarks/blocked_conv_speed.py --step        # and the cyclegan_mnist train call
  python benchmarks/blocked_conv_speed.py --thresholds  # shapes conv2d leaves unblocked

With --step, 2.6 minutes on 2 idle cores of an AVX2-only EPYC (2026-12-07);
--thresholds, 1 minute on one core beside other work.

`jaxgan.nn.convolutions.conv2d` computes a stride-1 convolution with a
kernel of 5x5 or more between at most 4 channels and any number on 2x2
pixel blocks moved into channels (`_blocked_conv`). This times, for each of
CycleGAN's 7x7 layers between an image and its features (reflection-padded
input, padding 0, as `jaxgan.families.cyclegan.networks` calls them), the
value and both gradients of that layer as a block convolution, as the
canonical convolution jaxgan ran before (`_conv`) and as XLA's own
(`xla_conv2d`), each jitted as a train step is, interleaved over
`--rounds`, medians in ms.

`--step` then builds the cyclegan_mnist train call twice in this process,
as `benchmarks/speed.py` does, once with the blocks turned off (the
threshold on channels set to 0 while it is traced) and once as shipped, and
times them in turn, A B A B, `--steps` steps a round.

Figures, command and machine: benchmarks/results/speed.md.
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp
import numpy as np

from jaxgan.nn import convolutions
from jaxgan.train import compilation

# (label, batch, side of the padded input, kernel side, input channels, output channels).
LAYERS = (
  ('cyclegan_mnist G stem, 1 -> 16', 16, 38, 7, 1, 16),
  ('cyclegan_mnist F stem, 3 -> 16', 16, 38, 7, 3, 16),
  ('cyclegan_mnist G to_image, 16 -> 3', 16, 38, 7, 16, 3),
  ('cyclegan_mnist F to_image, 16 -> 1', 16, 38, 7, 16, 1),
  ('cyclegan stem, 3 -> 64', 1, 262, 7, 3, 64),
  ('cyclegan to_image, 64 -> 3', 1, 262, 7, 64, 3),
)
# Where conv2d does not use blocks: more channels, or a small kernel (the
# 28x28 DCGAN's last layer). Timed with --thresholds, to show why.
THRESHOLD_LAYERS = (
  ('7x7, 32 -> 32, 32x32', 16, 38, 7, 32, 32),
  ('3x3, 64 -> 1, 28x28 (DCGAN G to_image)', 64, 30, 3, 64, 1),
)

VARIANTS = {
  'blocks': lambda x, w: convolutions._blocked_conv(x, w, 0, convolutions._BLOCK),  # pylint: disable=protected-access
  'canonical': lambda x, w: convolutions._conv(x, w, 1, 0),  # pylint: disable=protected-access
  'xla': convolutions.xla_conv2d,
}


def seconds_per_call(fn, args, calls: int) -> float:
  start = time.perf_counter()
  for _ in range(calls):
    result = fn(*args)
  jax.block_until_ready(result)
  return (time.perf_counter() - start) / calls


def time_layers(layers, rounds: int) -> None:
  print('| layer | ' + ' | '.join(f'{name} (ms)' for name in VARIANTS) + ' | canonical / blocks |')
  print('| --- |' + ' ---: |' * (len(VARIANTS) + 1))
  for label, batch, side, k, cin, cout in layers:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, side, side, cin)), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(k, k, cin, cout)), jnp.float32)
    steps = {}
    for name, conv in VARIANTS.items():
      loss = lambda x, w, conv=conv: jnp.sum(jnp.sin(conv(x, w)))
      steps[name] = compilation.jit(jax.value_and_grad(loss, argnums=(0, 1)))
      jax.block_until_ready(steps[name](x, kernel))
    calls = 3 if batch == 1 else 10
    times = {name: [] for name in steps}
    for _ in range(rounds):
      for name, step in steps.items():
        times[name].append(seconds_per_call(step, (x, kernel), calls))
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    cells = ' | '.join(f'{ms[name]:.1f}' for name in VARIANTS)
    print(f'| {label} | {cells} | {ms["canonical"] / ms["blocks"]:.2f} |', flush=True)


def time_step(spec: str, steps: int, rounds: int) -> None:
  from benchmarks import speed  # pylint: disable=g-import-not-at-top

  shipped = convolutions._BLOCKED_MAX_CHANNELS  # pylint: disable=protected-access
  rows = {}
  for name, max_channels in (('unblocked', 0), ('blocks', shipped)):
    # Read when the call is traced, which Timed does once, at its first call.
    convolutions._BLOCKED_MAX_CHANNELS = max_channels  # pylint: disable=protected-access
    rows[name] = speed.Timed(spec, None)
  convolutions._BLOCKED_MAX_CHANNELS = shipped  # pylint: disable=protected-access
  for _ in range(rounds):
    for row in rows.values():
      row.run(steps)
  for name, row in rows.items():
    print(f'{spec} {name}: ' + ', '.join(f'{t:.4f}' for t in row.step_seconds) + ' s a step')
  unblocked, blocks = (statistics.median(row.step_seconds) for row in rows.values())
  print(
    f'{spec}: median {unblocked:.4f} s a step unblocked, {blocks:.4f} with blocks: '
    f'unblocked / blocks {unblocked / blocks:.3f}'
  )


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--step', action='store_true', help='Also time the train call.')
  parser.add_argument(
    '--thresholds', action='store_true', help='Time the layers that are not blocked instead.'
  )
  parser.add_argument('--config', default='cyclegan_mnist', help='The config --step builds.')
  parser.add_argument('--steps', type=int, default=10, help='Steps a round, with --step.')
  parser.add_argument('--step_rounds', type=int, default=8)
  args = parser.parse_args()
  print(f'jax {jax.__version__}, {os.cpu_count()} cores')
  time_layers(THRESHOLD_LAYERS if args.thresholds else LAYERS, args.rounds)
  if args.step:
    time_step(args.config, args.steps, args.step_rounds)


if __name__ == '__main__':
  main()
