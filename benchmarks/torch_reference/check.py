"""Checks once that the PyTorch reference is jaxgan's GAN: parameter counts, and losses on MNIST.

  python benchmarks/torch_reference/check.py [--configs=gan,dcgan] [--steps=200] [--every=20]
  python benchmarks/torch_reference/check.py --configs=dcgan:resolution=64:data.resize=64:data.channels=3
  python benchmarks/torch_reference/check.py --configs=cyclegan_mnist --steps=100 --every=10
  python benchmarks/torch_reference/check.py --configs=stylegan,stylegan2 --steps=200

For each config (a config name, overrides after colons as in
benchmarks/speed.py), prints each network's parameter count in jaxgan and
in the reference, which must be equal. Then trains both from their own
inits (seed 0 each) on the same real batches and prints the mean losses
over every `--every` steps side by side. Their inits and noise differ, so
the losses are not equal; they should move alike.

The batches: classic configs (28x28x1 images only; the second command
above counts only), the first steps x batch digits of the bundled MNIST
training set read straight from its IDX file. StyleGAN, those digits
padded to 32x32 as the family's data (`mnist2textured` trainA) pads them.
CycleGAN on `mnist2textured`, its two domains built as the family's data
builds them (`jaxgan.data.textured_mnist`): domain A the first digits of
trainA (MNIST's first half, padded), domain B the first of trainB (the
second half's digits blended onto trainB's first textures).
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
from benchmarks.torch_reference import cyclegan  # noqa: E402
from benchmarks.torch_reference import reference  # noqa: E402
from benchmarks.torch_reference import stylegan  # noqa: E402
from jaxgan import parallel  # noqa: E402
from jaxgan.data import textured_mnist  # noqa: E402
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
  if config.family != 'classic':
    check_family(spec, config, num_steps, every)
    return
  mesh = parallel.make_data_mesh(jax.devices())
  experiment = experiment_lib.prepare(config, mesh=mesh)
  height, width, channels = experiment.datasets['real'].shape
  state = experiment.init(config.seed)
  call = steps.make_train_call(experiment.model, mesh, experiment.state_partition)

  # Seeded before the networks are drawn: the docstring's "seed 0 each".
  torch.manual_seed(config.seed)
  generator, discriminator = speed.classic_networks(reference, config, (channels, height, width))
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

  torch_step = speed.classic_train_step(reference, config, generator, discriminator)
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


def real_batches(config, num_steps: int) -> dict[str, np.ndarray]:
  """{stream: uint8 (num_steps, batch, H, W, C)}: the same real batches for both.

  Raises:
    ValueError: for a config whose data is not the bundled MNIST's
      `mnist2textured` (the only data this check builds).
  """
  count = num_steps * config.batch_size
  source = config.data.source
  if source != textured_mnist.MNIST2TEXTURED:
    raise ValueError(f'{config.family} configs are checked on mnist2textured, not {source!r}.')
  digits = mnist_digits(60_000)
  first = {split: textured_mnist.DIGITS[split].start for split in ('trainA', 'trainB')}
  domain_a = textured_mnist.pad_digits(digits[first['trainA'] : first['trainA'] + count])
  if config.family == 'stylegan':
    if config.data.split != 'trainA' or config.resolution != textured_mnist.SIZE:
      raise ValueError('StyleGAN configs are checked on trainA at 32x32 only.')
    streams = {'real': domain_a}
  else:
    b = digits[first['trainB'] : first['trainB'] + count]
    # The first textures of a seed do not depend on how many are drawn.
    backgrounds = textured_mnist.textures(textured_mnist.TEXTURE_SEEDS['trainB'], count)
    streams = {'a': domain_a, 'b': textured_mnist.blend(b, backgrounds)}
  return {
    name: images.reshape(num_steps, config.batch_size, *images.shape[1:])
    for name, images in streams.items()
  }


# The networks of each family's state, as the reference's `parameter_counts` names them.
def jax_parameter_counts(family: str, state) -> dict[str, int]:
  if family == 'cyclegan':
    return {
      **{name: size(p) for name, p in state.generator_params.items()},
      **{name: size(p) for name, p in state.discriminator_params.items()},
    }
  return {
    'mapping': size(state.generator_params['mapping']),
    'synthesis': size(state.generator_params['synthesis']),
    'discriminator': size(state.discriminator_params),
  }


NETWORK_NAMES = {
  'ab': 'G: A -> B',
  'ba': 'F: B -> A',
  'a': 'D_A',
  'b': 'D_B',
  'mapping': 'G: mapping',
  'synthesis': 'G: synthesis',
  'discriminator': 'D',
}
# The losses compared: the metrics both steps return.
COMPARED = {
  'cyclegan': ('discriminator_loss', 'generator_loss', 'cycle_a', 'cycle_b'),
  'stylegan': ('discriminator_loss', 'generator_loss', 'r1_penalty', 'path_length'),
}


def check_family(spec: str, config, num_steps: int, every: int) -> None:
  """The CycleGAN and StyleGAN families: counts per network, then the losses side by side."""
  mesh = parallel.make_data_mesh(jax.devices())
  experiment = experiment_lib.prepare(config, mesh=mesh)
  state = experiment.init(config.seed)
  call = steps.make_train_call(experiment.model, mesh, experiment.state_partition)
  shapes = speed.torch_image_shapes(config)
  module = cyclegan if config.family == 'cyclegan' else stylegan
  torch.manual_seed(config.seed)
  torch_step = module.TrainStep(config, shapes)

  print(f'### `{spec}`\n')
  print('| network | jaxgan parameters | PyTorch parameters |')
  print('| --- | ---: | ---: |')
  jax_counts = jax_parameter_counts(config.family, state)
  torch_counts = module.parameter_counts(torch_step)
  for name, count in jax_counts.items():
    print(f'| {NETWORK_NAMES[name]} | {count:,} | {torch_counts[name]:,} |')
  print(f'| all | {sum(jax_counts.values()):,} | {sum(torch_counts.values()):,} |')
  if jax_counts != torch_counts:
    raise SystemExit(f'{spec}: the parameter counts differ.')

  batches = real_batches(config, num_steps)
  names = COMPARED[config.family]
  # Per metric, the steps on which the reference computed it (lazy regularisers).
  losses = {name: {'jax': [], 'torch': []} for name in names}
  for step in range(num_steps):
    local = {name: {'image': b[step][None, None]} for name, b in batches.items()}
    state, metrics = call(state, steps.global_batches(mesh, local, jax.process_count()))
    metrics = steps.to_host(metrics)
    torch_metrics = torch_step(
      {name: torch.from_numpy(b[step]).permute(0, 3, 1, 2) for name, b in batches.items()}
    )
    for name in names:
      if name in torch_metrics:
        losses[name]['jax'].append((step, float(metrics[name][0])))
        losses[name]['torch'].append((step, torch_metrics[name].item()))
  names = [name for name in names if losses[name]['torch']]

  what = ', '.join(f'{name} {b.shape[2:]}' for name, b in batches.items())
  print(
    f'\nMean losses over each {every} steps ({what}, batch {config.batch_size}, seed 0 each):\n'
  )
  print('| steps | ' + ' | '.join(f'{n}, jaxgan | {n}, PyTorch' for n in names) + ' |')
  print('| --- |' + ' ---: | ---: |' * len(names))
  for start in range(0, num_steps, every):
    end = min(start + every, num_steps)
    cells = []
    for name in names:
      for side in ('jax', 'torch'):
        window = [v for s, v in losses[name][side] if start <= s < end]
        cells.append(f'{np.mean(window):.3f}' if window else '')
    print(f'| {start + 1}-{end} | ' + ' | '.join(cells) + ' |')
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
