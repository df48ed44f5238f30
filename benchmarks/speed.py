"""Train-step speed of configs side by side: steps/s, images/s and compile time, interleaved.

  python benchmarks/speed.py --configs=dcgan,stylegan,stylegan2 [--rounds=3] [--steps=10]

Each config is built as train.py builds it (its family, networks and
optimizers, on every local device, compiled as train.py compiles it, with
its `steps_per_call` steps per dispatch), and its train call is fed fixed
batches of random uint8 images already on the device, so the figure is the
model's step, not the data pipeline's. `--steps` is rounded down to a
multiple of the config's steps_per_call (`:steps_per_call=1` times single
steps). The configs are then timed in turn,
A B C A B C ..., `--rounds` times `--steps` steps each, so that load on the
machine hits all of them alike; the medians and their ratios to the first
config are the result. A recipe and overrides go after colons, comma-free:
`--configs=dcgan,dcgan:paper,stylegan:batch_size=16`.

  python benchmarks/speed.py --configs=gan,dcgan --torch=eager,compile
  python benchmarks/speed.py --configs=cyclegan_mnist,stylegan --torch=eager,compile

`--torch` adds, after each config's row, rows for the PyTorch reference
of the same networks, losses, optimizers and batch
(benchmarks/torch_reference/, its own requirements file), for the classic
family's vanilla GAN and DCGAN (`reference.py`), the CycleGAN family
(`cyclegan.py`: configs/cyclegan_mnist.py) and the StyleGAN family
(`stylegan.py`: configs/stylegan.py, configs/stylegan2.py): 'eager',
'compile' (`torch.compile` on the networks; compiling is in its first-call
time); '+reuse' after either (eager+reuse, classic configs only) is
pytorch/examples' step, whose G update reuses the D step's fakes instead of
drawing a fresh z (every row of a config with `generator_reuses_fakes`, as
the default DCGAN, does), and '+fused' uses Adam's fused kernel rather than
PyTorch's CPU default. They are fed random uint8 batches of the shapes the
jaxgan row gets, one per data stream of the family (CycleGAN's two
domains), already tensors in memory, and timed in the same rounds (jax,
torch eager, torch compile, next config, ...). PyTorch runs on torch.set_num_threads(os.cpu_count()) threads, as
XLA:CPU uses every core. Every row runs in a process of its own (`Row`),
so the two libraries never share a process or its threads; torch is
imported only in the PyTorch rows' processes.

  python benchmarks/speed.py --configs=dcgan,stylegan2 --xla_default

`--xla_default` adds after each config's row one compiled with XLA:CPU's
own default library fusions, convolutions in YNNPACK, which
jaxgan.train.compilation turns off.

  python benchmarks/speed.py --configs=dcgan,gan --pipeline

`--pipeline` adds after each config's row the same call fed as the loop
feeds it: each call's batches read from the config's data through
jaxgan.data's pipeline (its source, transforms and workers), put on the
mesh, then the call (`TimedThroughPipeline`); `--data_dir` is where the
data is prepared.
"""

import argparse
import importlib
import multiprocessing
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax  # noqa: E402
import numpy as np  # noqa: E402

from jaxgan import data  # noqa: E402
from jaxgan import families  # noqa: E402
from jaxgan import parallel  # noqa: E402
from jaxgan.train import experiment as experiment_lib  # noqa: E402
from jaxgan.train import loop  # noqa: E402
from jaxgan.train import steps  # noqa: E402


def _override_value(current, value: str, spec: str):
  """An override's text as the type of the field it sets ('False' is False, not a true string)."""
  if isinstance(current, bool):
    if value.lower() not in ('true', 'false'):
      raise ValueError(f'{spec}: {value!r} is not a bool; write True or False.')
    return value.lower() == 'true'
  return type(current)(value) if current is not None else value


def load_config(spec: str, data_dir: str | None):
  """'name[:recipe][:field=value[:...]]' -> configs/name.py's config with the overrides.

  A part without '=' right after the name is the config's recipe, as in
  train.py's --config=configs/dcgan.py:paper.
  """
  name, *overrides = spec.split(':')
  recipe = [overrides.pop(0)] if overrides and '=' not in overrides[0] else []
  config = importlib.import_module(f'configs.{name}').get_config(*recipe)
  for override in overrides:
    field, value = override.split('=', 1)
    node = config
    *path, leaf = field.split('.')
    for part in path:
      node = node[part]
    node[leaf] = _override_value(node[leaf], value, spec)
  if data_dir:
    config.data.data_dir = data_dir
  return config


def random_batch(experiment, rng: np.random.Generator, steps_per_call: int = 1) -> dict:
  """One call's batches of random images (and labels), shaped as the loop feeds them."""
  local_batch = experiment.config.batch_size // jax.process_count()
  batch = {}
  for name, stream in experiment.streams.items():
    info = experiment.datasets[name]
    shape = (steps_per_call, stream.batches_per_step, local_batch, *info.shape)
    batch[name] = {info.feature: rng.integers(0, 256, shape, np.uint8)}
    if stream.with_labels:
      batch[name]['label'] = rng.integers(0, info.num_classes, shape[:3], np.int32)
  return batch


class Timed:
  """A config's compiled train call, its state and batch, and its step times."""

  def __init__(self, spec: str, data_dir: str | None):
    self.spec = spec
    self.config = load_config(spec, data_dir)
    # As train.py runs the config: K steps per dispatch, K its steps_per_call.
    self.steps_per_call = self.config.steps_per_call
    per_call = f', {self.steps_per_call} steps per call' if self.steps_per_call > 1 else ''
    self.label = f'`{spec}`{per_call}'
    self.mesh = mesh = parallel.make_data_mesh(jax.devices())
    self.experiment = experiment = experiment_lib.prepare(self.config, mesh=mesh)
    self.state = experiment.init(self.config.seed)
    self.call = steps.make_train_call(
      experiment.model, mesh, experiment.state_partition, nonfinite=self.config.nonfinite
    )
    self.batch = steps.global_batches(
      mesh,
      random_batch(experiment, np.random.default_rng(0), self.steps_per_call),
      jax.process_count(),
    )
    start = time.perf_counter()
    self.state, metrics = self.call(self.state, self.batch)
    jax.block_until_ready(metrics)
    self.compile_seconds = time.perf_counter() - start
    self.step_seconds = []

  def run(self, count: int) -> None:
    calls = max(1, count // self.steps_per_call)
    start = time.perf_counter()
    for _ in range(calls):
      self.state, metrics = self.call(self.state, self.batch)
    jax.block_until_ready(metrics)
    self.step_seconds.append((time.perf_counter() - start) / (calls * self.steps_per_call))


class TimedThroughPipeline(Timed):
  """The same call fed as the loop feeds it: each call's batches from the config's data.

  Per call, what `loop._train` does before its events: `loop.next_call_batches`
  from the loop's own iterators (`loop.stream_iterators`: the config's
  source, transforms and workers), each iterator's state,
  `steps.global_batches` onto the mesh, the call. The row's difference from
  its config's first row is the data pipeline's cost to the step.
  """

  def __init__(self, spec: str, data_dir: str | None):
    super().__init__(spec, data_dir)
    self.label += ', batches through the data pipeline'
    self.iterators = dict(loop.stream_iterators(self.experiment))
    # Workers started and their first batches read outside the timed blocks.
    self.run(self.steps_per_call)
    self.step_seconds.clear()

  def run(self, count: int) -> None:
    calls = max(1, count // self.steps_per_call)
    start = time.perf_counter()
    for _ in range(calls):
      local = loop.next_call_batches(self.iterators, self.experiment, self.steps_per_call)
      # The loop takes each call's data state for its checkpoints.
      for iterator in self.iterators.values():
        iterator.get_state()
      batch = steps.global_batches(self.mesh, local, jax.process_count())
      self.state, metrics = self.call(self.state, batch)
    jax.block_until_ready(metrics)
    self.step_seconds.append((time.perf_counter() - start) / (calls * self.steps_per_call))


# --torch's rows: 'eager' or 'compile', each with any of these after a '+'.
TORCH_OPTIONS = {
  'reuse': "G's update reuses D's fakes (pytorch/examples)",
  'fused': "Adam's fused kernel",
}


def parse_torch_mode(mode: str) -> tuple[bool, set[str]]:
  """'compile+fused' -> (True, {'fused'}): whether to compile, and the options."""
  how, *options = mode.split('+')
  if how not in ('eager', 'compile') or not set(options) <= set(TORCH_OPTIONS):
    raise ValueError(
      f'--torch={mode}: each row is eager or compile, optionally followed by '
      f'{" or ".join("+" + o for o in TORCH_OPTIONS)} (e.g. eager+reuse).'
    )
  return how == 'compile', set(options)


# The PyTorch reference of each family: a module of benchmarks/torch_reference/.
TORCH_REFERENCES = {'classic': 'reference', 'cyclegan': 'cyclegan', 'stylegan': 'stylegan'}


def _adam_changes(config, *, schedules: bool) -> list[str]:
  """The optimizer fields the reference cannot copy: not Adam, or a schedule (unless `schedules`)."""
  changed = []
  for name in ('generator_optimizer', 'discriminator_optimizer'):
    settings = config[name]
    scheduled = settings.get('warmup_steps', 0) or settings.get('decay_to_zero_steps', 0)
    if settings.name != 'adam' or (scheduled and not schedules):
      changed.append(name)
  return changed


def check_torch_reference_applies(config) -> None:
  """Raises ValueError unless the PyTorch reference copies `config`.

  Classic family: the vanilla GAN and the DCGAN with every option of
  configs/gan.py at its default (the non-saturating loss, one critic step,
  no penalties or remedies, float32, constant-rate Adam) except the widths,
  the moving average of G and `generator_reuses_fakes`, which it copies.
  CycleGAN: the least-squares loss and Adam, with any schedule, networks,
  weights and pool. StyleGAN: 'adain' synthesis with the 'orig'
  architecture or 'modulated' with 'skip', either discriminator, Adam with
  any schedule, and every regulariser and option the family has.
  """
  family = config.get('family')
  if family not in TORCH_REFERENCES:
    raise ValueError(
      f'--torch: the PyTorch reference has the families {", ".join(TORCH_REFERENCES)}, not '
      f'{family!r}.'
    )
  if family == 'cyclegan':
    changed = [] if config.loss == 'least_squares' else ['loss']
    changed += _adam_changes(config, schedules=True)
  elif family == 'stylegan':
    pairs = {('adain', 'orig'), ('adain', ''), ('modulated', 'skip'), ('modulated', '')}
    changed = (
      []
      if (config.style, config.synthesis_architecture or '') in pairs
      else ['style and synthesis_architecture']
    )
    changed += _adam_changes(config, schedules=True)
  else:
    from configs import gan

    defaults = gan.get_config()
    fields = (
      'conditioning',
      'loss',
      'critic_steps',
      'weight_clip',
      'gradient_penalty',
      'r1_gamma',
      'spectral_norm',
      'discriminator_normalization',
      'minibatch_discrimination',
      'minibatch_stddev',
      'packing',
      'feature_matching',
      'dtype',
    )
    changed = [f for f in fields if config[f] != defaults[f]]
    changed += _adam_changes(config, schedules=False)
  if changed:
    raise ValueError(
      f"--torch: the PyTorch reference of the {family} family does not copy this config's "
      f'{", ".join(changed)}.'
    )


def torch_image_shapes(config, streams: tuple[str, ...] | None = None) -> dict:
  """{stream: (C, H, W)}: the images of each data stream of the config's family (or of `streams`)."""
  shapes = {}
  for name, stream in families.load(config.family).data_streams(config).items():
    if streams is not None and name not in streams:
      continue
    if stream.batches_per_step != 1:
      raise ValueError(f'--torch: stream {name!r} takes {stream.batches_per_step} batches a step.')
    info = data.dataset_info(stream.spec, with_labels=stream.with_labels)
    height, width, channels = info.shape
    shapes[name] = (channels, height, width)
  return shapes


def classic_networks(reference, config, image_shape: tuple[int, int, int]):
  """The classic reference's (G, D) for a config (benchmarks/torch_reference/reference.py)."""
  return reference.networks(
    config.model,
    image_shape,
    latent_dim=config.latent_dim,
    resolution=config.resolution,
    generator_width=config.generator_width,
    discriminator_width=config.discriminator_width,
  )


def classic_train_step(
  reference, config, generator, discriminator, *, compile_networks=False, options=frozenset()
):
  """The classic reference's TrainStep of G and D with the config's Adams, average and step.

  It reuses D's fakes when the config does or `options` has 'reuse'.
  """
  adam = lambda s: (s.learning_rate, s.b1, s.b2)
  return reference.TrainStep(
    generator,
    discriminator,
    latent_dim=config.latent_dim,
    generator_adam=adam(config.generator_optimizer),
    discriminator_adam=adam(config.discriminator_optimizer),
    ema_decay=config.ema_decay,
    reuse_fakes='reuse' in options or config.generator_reuses_fakes,
    compile=compile_networks,
    fused_adam='fused' in options,
  )


class TorchTimed:
  """The PyTorch reference of a config's step, its batches, and its step times."""

  def __init__(self, spec: str, data_dir: str | None, mode: str):
    import importlib

    import torch

    config = load_config(spec, data_dir)
    check_torch_reference_applies(config)
    compile_networks, options = parse_torch_mode(mode)
    classic = config.family == 'classic'
    if not classic and 'reuse' in options:
      raise ValueError(f'--torch={mode}: +reuse is a step of the classic family only.')
    if classic and config.generator_reuses_fakes:
      # The config's own step reuses D's fakes: so does its reference.
      options = options | {'reuse'}
    # PyTorch's CPU ops take as many threads as cores, as XLA:CPU does.
    torch.set_num_threads(os.cpu_count())
    # On a GPU where CUDA is there (benchmarks/accelerator.py): networks,
    # optimizer states and batches made on it. Only there: a default device
    # intercepts every op, which would slow the CPU rows' eager steps.
    self.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if self.device == 'cuda':
      torch.set_default_device(self.device)
    self.spec = spec
    what = 'compile' if compile_networks else 'eager'
    self.label = ', '.join(
      [f'`{self.spec}` PyTorch {what}']
      + [text for o, text in TORCH_OPTIONS.items() if o in options]
    )
    self.config = config
    reference = importlib.import_module(
      f'benchmarks.torch_reference.{TORCH_REFERENCES[config.family]}'
    )
    # Each stream's images, (C, H, W), read as the jaxgan row's experiment
    # reads them, without starting XLA in this process (no mesh, no traced init).
    shapes = torch_image_shapes(config, streams=('real',) if classic else None)
    # Seeded before the networks are drawn, so that their init is the run's.
    torch.manual_seed(config.seed)
    if classic:
      networks = classic_networks(reference, config, shapes['real'])
      self.step = classic_train_step(
        reference, config, *networks, compile_networks=compile_networks, options=options
      )
    else:
      self.step = reference.TrainStep(
        config, shapes, compile=compile_networks, fused_adam='fused' in options
      )
    rng = np.random.default_rng(0)
    # One batch per stream, as the jaxgan row's `random_batch` (one batch per step each).
    self.batch = {
      name: torch.from_numpy(rng.integers(0, 256, (config.batch_size, *shape), np.uint8)).to(
        self.device
      )
      for name, shape in shapes.items()
    }
    if classic:
      self.batch = self.batch['real']
    start = time.perf_counter()
    self.step(self.batch)
    self._wait()
    self.compile_seconds = time.perf_counter() - start
    self.step_seconds = []

  def _wait(self) -> None:
    """Returns when the device is done: at once on a CPU, whose ops run to completion."""
    if self.device == 'cuda':
      import torch

      torch.cuda.synchronize()

  def run(self, count: int) -> None:
    start = time.perf_counter()
    for _ in range(count):
      self.step(self.batch)
    self._wait()
    self.step_seconds.append((time.perf_counter() - start) / count)


# XLA:CPU's own default library fusions (jax 0.10), convolutions included,
# which jaxgan.train.compilation leaves out; XLA_FLAGS set to them makes
# jaxgan pass no option of its own.
XLA_DEFAULT_FLAGS = (
  '--xla_cpu_experimental_ynn_fusion_type=individual_dot,individual_convolution,reduce'
)


def _serve(kind: str, spec: str, data_dir: str | None, mode: str, connection) -> None:
  """A row's process: builds (and compiles) its step, then times blocks when asked."""
  if kind == 'jax' and mode == 'xla-default':
    # Before XLA starts in this process: it reads XLA_FLAGS once.
    os.environ['XLA_FLAGS'] = f'{os.environ.get("XLA_FLAGS", "")} {XLA_DEFAULT_FLAGS}'
  if kind == 'torch':
    entry = TorchTimed(spec, data_dir, mode)
  else:
    entry = (TimedThroughPipeline if mode == 'pipeline' else Timed)(spec, data_dir)
  if kind == 'jax' and mode == 'xla-default':
    entry.label += ", XLA:CPU's default library fusions (convolutions in YNNPACK)"
  versions = f'jax {jax.__version__}'
  if kind == 'torch':
    import torch

    versions = f'torch {torch.__version__}, torch.set_num_threads({torch.get_num_threads()})'
  connection.send((entry.label, entry.config.batch_size, entry.compile_seconds, versions))
  while (count := connection.recv()) is not None:
    entry.run(count)
    connection.send(entry.step_seconds[-1])


class Row:
  """One row of the table, timed in a process of its own.

  Each implementation runs alone in its process, so neither's threads (XLA's
  pool, PyTorch's OpenMP workers, which spin for a while after each op) take
  cores from the other: torch is never imported in a jaxgan row, and a
  PyTorch row imports jax (this file does) but never starts XLA. Only one
  row computes at a time: the others wait on their pipes.
  """

  def __init__(self, kind: str, spec: str, data_dir: str | None, mode: str = ''):
    self.kind, self.spec = kind, spec
    context = multiprocessing.get_context('spawn')
    self._connection, child = context.Pipe()
    self._process = context.Process(
      target=_serve, args=(kind, spec, data_dir, mode, child), daemon=True
    )
    self._process.start()
    # Built one at a time, so that compiles do not overlap.
    self.label, self.batch_size, self.compile_seconds, self.versions = self._connection.recv()
    self.step_seconds = []

  def run(self, count: int) -> None:
    self._connection.send(count)
    self.step_seconds.append(self._connection.recv())

  def close(self) -> None:
    self._connection.send(None)
    self._process.join()


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--configs', required=True, help='Comma-separated names in configs/.')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--steps', type=int, default=10, help='Steps per config per round.')
  parser.add_argument('--data_dir', default=None, help="The datasets' data_dir (for shapes).")
  parser.add_argument(
    '--torch',
    default='',
    help='Comma-separated PyTorch reference rows for each config: eager or compile, each with '
    f'any of {", ".join("+" + o for o in TORCH_OPTIONS)} (e.g. eager,compile,eager+reuse).',
  )
  parser.add_argument(
    '--xla_default',
    action='store_true',
    help="Add a row per config compiled with XLA:CPU's default library fusions "
    "(convolutions in YNNPACK) instead of jaxgan.train.compilation's options.",
  )
  parser.add_argument(
    '--pipeline',
    action='store_true',
    help="Add a row per config whose batches come from the config's data through "
    "jaxgan.data's pipeline, as the loop feeds them, instead of being on the device already.",
  )
  args = parser.parse_args()
  torch_modes = [m for m in args.torch.split(',') if m]
  for mode in torch_modes:
    parse_torch_mode(mode)
  rows = []
  for spec in args.configs.split(','):
    rows.append(Row('jax', spec, args.data_dir))
    if args.pipeline:
      rows.append(Row('jax', spec, args.data_dir, 'pipeline'))
    if args.xla_default:
      rows.append(Row('jax', spec, args.data_dir, 'xla-default'))
    rows.extend(Row('torch', spec, args.data_dir, mode) for mode in torch_modes)
  for _ in range(args.rounds):
    for row in rows:
      row.run(args.steps)
  for row in rows:
    row.close()
  print(f'{jax.device_count()} {jax.devices()[0].platform} device(s)')
  for versions in dict.fromkeys(row.versions for row in rows):
    print(versions)
  header = (
    '| config | batch | compile (s) | step (s, median) | steps/s | images/s | step time / first |'
  )
  rule = '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
  if torch_modes:
    header += " step time / jaxgan's |"
    rule += ' ---: |'
  print(header)
  print(rule)
  first = statistics.median(rows[0].step_seconds)
  for row in rows:
    step = statistics.median(row.step_seconds)
    batch = row.batch_size
    line = (
      f'| {row.label} | {batch} | {row.compile_seconds:.0f} | {step:.3f} | {1 / step:.2f} '
      f'| {batch / step:.0f} | {step / first:.2f} |'
    )
    if torch_modes:
      # The same config's jaxgan row: over 1 means jaxgan's step is the faster.
      own = next(r for r in rows if r.kind == 'jax' and r.spec == row.spec)
      line += f' {step / statistics.median(own.step_seconds):.2f} |'
    print(line)


if __name__ == '__main__':
  main()
