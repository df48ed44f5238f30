"""Train-step speed of configs side by side: steps/s, images/s and compile time, interleaved.

  python benchmarks/speed.py --configs=dcgan,stylegan,stylegan2 [--rounds=3] [--steps=10]

Each config is built as train.py builds it (its family, networks and
optimizers, on every local device), and its train call is fed one fixed
batch of random uint8 images already on the device, so the figure is the
model's step, not the data pipeline's. The configs are then timed in turn,
A B C A B C ..., `--rounds` times `--steps` steps each, so that load on the
machine hits all of them alike; the medians and their ratios to the first
config are the result. Overrides go after a colon, comma-free:
`--configs=dcgan,stylegan:batch_size=16`.
"""

import argparse
import importlib
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax  # noqa: E402
import numpy as np  # noqa: E402

from jaxgan import parallel  # noqa: E402
from jaxgan.train import experiment as experiment_lib  # noqa: E402
from jaxgan.train import steps  # noqa: E402


def load_config(spec: str, data_dir: str | None):
  """'name[:field=value[:...]]' -> configs/name.py's config with the overrides."""
  name, *overrides = spec.split(':')
  config = importlib.import_module(f'configs.{name}').get_config()
  for override in overrides:
    field, value = override.split('=', 1)
    node = config
    *path, leaf = field.split('.')
    for part in path:
      node = node[part]
    node[leaf] = type(node[leaf])(value) if node[leaf] is not None else value
  if data_dir:
    config.data.data_dir = data_dir
  return config


def random_batch(experiment, rng: np.random.Generator) -> dict:
  """One call's batches of random images (and labels), shaped as the loop feeds them."""
  local_batch = experiment.config.batch_size // jax.process_count()
  batch = {}
  for name, stream in experiment.streams.items():
    info = experiment.datasets[name]
    shape = (1, stream.batches_per_step, local_batch, *info.shape)
    batch[name] = {info.feature: rng.integers(0, 256, shape, np.uint8)}
    if stream.with_labels:
      batch[name]['label'] = rng.integers(0, info.num_classes, shape[:3], np.int32)
  return batch


class Timed:
  """A config's compiled train call, its state and batch, and its step times."""

  def __init__(self, spec: str, data_dir: str | None):
    self.spec = spec
    self.config = load_config(spec, data_dir)
    self.config.steps_per_call = 1
    mesh = parallel.make_data_mesh(jax.devices())
    experiment = experiment_lib.prepare(self.config, mesh=mesh)
    self.state = experiment.init(self.config.seed)
    self.call = steps.make_train_call(experiment.model, mesh, experiment.state_partition)
    self.batch = steps.global_batches(
      mesh, random_batch(experiment, np.random.default_rng(0)), jax.process_count()
    )
    start = time.perf_counter()
    self.state, metrics = self.call(self.state, self.batch)
    jax.block_until_ready(metrics)
    self.compile_seconds = time.perf_counter() - start
    self.step_seconds = []

  def run(self, count: int) -> None:
    start = time.perf_counter()
    for _ in range(count):
      self.state, metrics = self.call(self.state, self.batch)
    jax.block_until_ready(metrics)
    self.step_seconds.append((time.perf_counter() - start) / count)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--configs', required=True, help='Comma-separated names in configs/.')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--steps', type=int, default=10, help='Steps per config per round.')
  parser.add_argument('--data_dir', default=None, help="The datasets' data_dir (for shapes).")
  args = parser.parse_args()
  timed = [Timed(spec, args.data_dir) for spec in args.configs.split(',')]
  for _ in range(args.rounds):
    for entry in timed:
      entry.run(args.steps)
  print(f'{jax.device_count()} {jax.devices()[0].platform} device(s), jax {jax.__version__}')
  print(
    '| config | batch | compile (s) | step (s, median) | steps/s | images/s | step time / first |'
  )
  print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  first = statistics.median(timed[0].step_seconds)
  for entry in timed:
    step = statistics.median(entry.step_seconds)
    batch = entry.config.batch_size
    print(
      f'| `{entry.spec}` | {batch} | {entry.compile_seconds:.0f} | {step:.3f} | {1 / step:.2f} '
      f'| {batch / step:.0f} | {step / first:.2f} |'
    )


if __name__ == '__main__':
  main()
