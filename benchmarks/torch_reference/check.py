"""Checks once that the PyTorch reference is jaxgan's GAN: parameter counts, and losses on MNIST.

  python benchmarks/torch_reference/check.py [--configs=gan,dcgan] [--steps=200] [--every=20]
  python benchmarks/torch_reference/check.py --configs=dcgan:resolution=64:data.resize=64:data.channels=3

For each config (a classic config name, overrides after colons as in
benchmarks/speed.py), prints G's and D's parameter counts in jaxgan and in
the reference, which must be equal. Then, for 28x28x1 images (the second
command above counts only), trains both from their own inits (seed 0 each)
on the same real MNIST batches, the first steps x 64 digits of the bundled
training set read straight from its IDX file, and prints the mean D and G
losses over every `--every` steps side by side. Their inits and noise
differ, so the losses are not equal; they should move alike.
Markdown out, for benchmarks/results/speed.md.
"""

import argparse
import gzip
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks import speed  # noqa: E402
from benchmarks.torch_reference import reference  # noqa: E402
from jaxgan import parallel  # noqa: E402
from jaxgan.train import experiment as experiment_lib  # noqa: E402
from jaxgan.train import steps  # noqa: E402


def mnist_digits(count: int) -> np.ndarray:
  """The first `count` MNIST training digits, uint8 (count, 28, 28)."""
  path = os.path.join(ROOT, 'data', 'mnist', 'train-images-idx3-ubyte.gz')
  with gzip.open(path) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
  if count > len(images):
    raise ValueError(f'{count} digits asked for; the training set has {len(images)}.')
  # A copy: torch.from_numpy warns on (and would share) the read-only buffer.
  return images[:count].copy()


def size(tree) -> int:
  return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


def check(spec: str, num_steps: int, every: int) -> None:
  config = speed.load_config(spec, None)
  config.steps_per_call = 1
  speed.check_torch_reference_applies(config)
  mesh = parallel.make_data_mesh(jax.devices())
  experiment = experiment_lib.prepare(config, mesh=mesh)
  height, width, channels = experiment.datasets['real'].shape
  state = experiment.init(config.seed)
  call = steps.make_train_call(experiment.model, mesh, experiment.state_partition)

  generator, discriminator = reference.networks(
    config.model,
    (channels, height, width),
    latent_dim=config.latent_dim,
    resolution=config.resolution,
    generator_width=config.generator_width,
    discriminator_width=config.discriminator_width,
  )
  print(f'### `{spec}`\n')
  print('| network | jaxgan parameters | PyTorch parameters |')
  print('| --- | ---: | ---: |')
  counts = {
    'G': (size(state.generator_params), reference.parameter_count(generator)),
    'D': (size(state.discriminator_params), reference.parameter_count(discriminator)),
  }
  for name, (jax_count, torch_count) in counts.items():
    print(f'| {name} | {jax_count:,} | {torch_count:,} |')
  if any(a != b for a, b in counts.values()):
    raise SystemExit(f'{spec}: the parameter counts differ.')
  if (height, width, channels) != (28, 28, 1):
    print('\n(Parameter counts only: the losses are compared on 28x28 MNIST.)\n')
    return

  torch.manual_seed(config.seed)
  adam = lambda s: (s.learning_rate, s.b1, s.b2)
  torch_step = reference.TrainStep(
    generator,
    discriminator,
    latent_dim=config.latent_dim,
    generator_adam=adam(config.generator_optimizer),
    discriminator_adam=adam(config.discriminator_optimizer),
    ema_decay=config.ema_decay,
  )
  batch_size = config.batch_size
  digits = mnist_digits(num_steps * batch_size).reshape(num_steps, batch_size, 28, 28)
  losses = {'jax': [], 'torch': []}
  for step in range(num_steps):
    local = {'real': {'image': digits[step].reshape(1, 1, batch_size, 28, 28, 1)}}
    state, metrics = call(state, steps.global_batches(mesh, local, jax.process_count()))
    metrics = steps.to_host(metrics)
    losses['jax'].append((metrics['discriminator_loss'][0], metrics['generator_loss'][0]))
    d_loss, g_loss = torch_step(torch.from_numpy(digits[step]).view(batch_size, 1, 28, 28))
    losses['torch'].append((d_loss.item(), g_loss.item()))

  print(f'\nMean losses over each {every} steps (MNIST, batch {batch_size}, seed 0 each):\n')
  print('| steps | D loss, jaxgan | D loss, PyTorch | G loss, jaxgan | G loss, PyTorch |')
  print('| --- | ---: | ---: | ---: | ---: |')
  for start in range(0, num_steps, every):
    jax_d, jax_g = np.mean(losses['jax'][start : start + every], axis=0)
    torch_d, torch_g = np.mean(losses['torch'][start : start + every], axis=0)
    end = min(start + every, num_steps)
    print(f'| {start + 1}-{end} | {jax_d:.3f} | {torch_d:.3f} | {jax_g:.3f} | {torch_g:.3f} |')
  print()


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--configs', default='gan,dcgan', help='Comma-separated names in configs/.')
  parser.add_argument('--steps', type=int, default=200)
  parser.add_argument('--every', type=int, default=20, help='Steps per row of the loss table.')
  args = parser.parse_args()
  torch.set_num_threads(os.cpu_count())
  print(f'jax {jax.__version__}, torch {torch.__version__}\n')
  for spec in args.configs.split(','):
    check(spec, args.steps, args.every)


if __name__ == '__main__':
  main()
