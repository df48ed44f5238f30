"""The stacked-MNIST mode-collapse benchmark of PacGAN (Lin et al. 2018), Table 2.

Run by hand from anywhere (the script puts the repo root on sys.path):

  python benchmarks/stacked_mnist.py --steps 1000 --seeds 3   # the defaults
  python benchmarks/stacked_mnist.py --steps 20 --seeds 2 --num_samples 2000 \\
      --workdir_root=/tmp/smnist/runs --results_dir=/tmp/smnist   # a smoke run

Each seed S trains `configs/dcgan.py:paper` (the jaxgan DCGAN28 preset) on
`stacked_mnist` (three MNIST digits stacked as R, G, B; 1000 modes, see
`jaxgan.data`) with `jaxgan.train.loop.train_and_evaluate` in
`<workdir_root>/seed_S`, resuming from its checkpoints if it has any. Then G
draws `--num_samples` images (26,000, as VEEGAN and PacGAN), the committed
MNIST classifier (`jaxgan.eval.classifier`, the Keras `mnist_cnn` network PacGAN
also used) reads the digit in each channel, and
`jaxgan.eval.metrics.stacked_mnist_statistics` counts the distinct triples (modes
captured, out of 1000) and KL(triple histogram || uniform over 1000). The
same figures for as many real stacked training images show what a G that
reproduced the data would score with this classifier and this many samples.

The defaults take ~18 minutes on 2 CPU cores (~3.3 steps/s, plus ~1 minute
of sampling and classifying per run) and gave 973.3 ± 2.2 modes, KL 0.741 ±
0.002 (real images: 1000 modes, KL 0.024).

The table (mean ± standard error over seeds, beside PacGAN's Table 2) goes
with the command, date and wall time to `<results_dir>/stacked_mnist.md`;
seed 0 leaves a sample grid `stacked_mnist_seed0.png` beside it.

Each seed that finishes and is scored is kept beside the report, in
`<report>_runs.json` (`benchmarks/finished_runs.py`), and a later command
that asks for the same seed with the same config and `--num_samples` counts
it rather than training it again, whether or not its workdir is still
there: `--seeds 3` after `--seeds 1` trains seeds 1 and 2 alone, on
another machine too.

`--variant` trains one of `VARIANTS`: `configs/dcgan.py:paper` with a few fields
changed (PacGAN packing, minibatch discrimination, WGAN-GP), or another
family's config (`stylegan`, `stylegan2`: `configs/stylegan.py` or
`configs/stylegan2.py` on the digits zero-padded to 32x32, at its own length):

  python benchmarks/stacked_mnist.py --variant pacdcgan2 --steps 1000 --seeds 1
  python benchmarks/stacked_mnist.py --variant stylegan --steps 25000 --seeds 1

A variant trains in `runs/stacked_mnist_<variant>/seed_S`, writes its report
to `<results_dir>/stacked_mnist_<variant>.md` (grid
`stacked_mnist_<variant>_seed0.png`), and its row to the variant table at
the end of `<results_dir>/stacked_mnist.md` (`benchmarks/variant_rows.py`),
which a rerun of the DCGAN row keeps.
"""

import datetime
import math
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import jax
import ml_collections
import numpy as np

from benchmarks import finished_runs
from benchmarks import training_time
from benchmarks import variant_rows
from configs import dcgan as dcgan_config
from configs import default as default_config
from configs import stylegan as stylegan_config
from configs import stylegan2 as stylegan2_config
from jaxgan import data
from jaxgan.eval import classifier
from jaxgan.eval import metrics
from jaxgan.train import evaluation
from jaxgan.train import images
from jaxgan.train import saved_runs


class Base(NamedTuple):
  """A config a variant starts from.

  config_file: how the report names it (`configs/NAME.py[:ARG]`).
  get_config: builds it.
  network: what it trains, for the report's differences from PacGAN's setup.
  """

  config_file: str
  get_config: Callable[[], ml_collections.ConfigDict]
  network: str


BASES: dict[str, Base] = {
  'dcgan:paper': Base(
    'configs/dcgan.py:paper',
    lambda: dcgan_config.get_config('paper'),
    'the jaxgan DCGAN28 preset (G: z(100) → 7×7×256 → 14×14×128 → 28×28×64 → '
    '28×28×3, 4×4 transposed convolutions; D: 28×28×3 → 14×14×64 → 7×7×128 '
    '→ 1, 4×4 stride-2 convolutions, LeakyReLU(0.2), BatchNorm on the '
    'second; batch 64, Adam 2e-4, beta1 0.5; a variant changes these as its line above '
    'says)',
  ),
  'stylegan': Base(
    'configs/stylegan.py',
    stylegan_config.get_config,
    "`configs/stylegan.py`'s StyleGAN, scaled down for 2 CPU cores (an 8-layer mapping "
    'network, z and w of 32; the synthesis network from a learned 4×4 constant to 32×32×3 '
    "with noise and AdaIN, 16 feature maps at every resolution; StyleGAN's D with "
    'minibatch stddev; R1 gamma 10, style mixing 0.9, batch 16, Adam 1e-3 with betas '
    "(0, 0.99); samples from G's moving average, no truncation), on the stacked digits "
    'zero-padded to 32×32 (`data.pad=32`); the classifier reads the central 28×28 of '
    'each channel, which the padding leaves as it was',
  ),
  'stylegan2': Base(
    'configs/stylegan2.py',
    stylegan2_config.get_config,
    "`configs/stylegan2.py`'s StyleGAN2 at the same sizes as `configs/stylegan.py` "
    '(modulated and demodulated convolutions, a skip G and a residual D; lazy R1 gamma 10 '
    'every 16 steps, path length regularisation every 4, style mixing 0.9, batch 16, Adam '
    "2e-3 with betas (0, 0.99); samples from G's moving average, no truncation), on the "
    'stacked digits zero-padded to 32×32 (`data.pad=32`); the classifier reads the central '
    '28×28 of each channel',
  ),
}


class Variant(NamedTuple):
  """A named change of a base config (`configs/dcgan.py:paper` unless `base` says otherwise).

  label: the row's name in the results table.
  overrides: config fields (dotted for nested ones) and their values.
  about: what the change is, for the report.
  base: the key of its `BASES` config.
  """

  label: str
  overrides: dict
  about: str
  base: str = 'dcgan:paper'


VARIANTS: dict[str, Variant] = {
  'dcgan': Variant('DCGAN (jaxgan DCGAN28)', {}, '`configs/dcgan.py:paper` as it is'),
  'pacdcgan2': Variant(
    'PacDCGAN2 (jaxgan DCGAN28, packing 2)',
    {'packing': 2},
    'PacGAN packing m = 2: D judges 32 packs of 2 images (joined along the channels) '
    "per batch of 64, so G and D see as many images per step as in the DCGAN row. PacGAN's "
    'code (stacked_MNIST_experiments/VEEGAN_experiment/model.py) instead feeds D 64 packs '
    '(128 images) per step, and, like the DCGAN-tensorflow code it comes from, takes two G '
    'steps per D step',
  ),
  'dcgan_md': Variant(
    'DCGAN + minibatch discrimination (B 100, C 5)',
    {'minibatch_discrimination': 100, 'minibatch_discrimination_dim': 5},
    "minibatch discrimination (Salimans et al. 2016) on D's flattened last feature map "
    "(7×7×128), B = 100 kernels of C = 5 as in Salimans et al.'s code",
  ),
  'wgan_gp': Variant(
    'WGAN-GP (jaxgan DCGAN28, LayerNorm D)',
    {
      'loss': 'wasserstein',
      'gradient_penalty': 10.0,
      'critic_steps': 5,
      'discriminator_normalization': 'layer_norm',
      'generator_optimizer': default_config.optimizer_config(1e-4, b1=0.0, b2=0.9),
      'discriminator_optimizer': default_config.optimizer_config(1e-4, b1=0.0, b2=0.9),
    },
    'WGAN-GP (Gulrajani et al. 2017): Wasserstein loss, gradient penalty lambda = 10, '
    "5 D updates per G update (each on its own real batch), D's BatchNorm replaced by "
    'LayerNorm (the penalty needs a D that judges each image alone), Adam 1e-4 with '
    'betas (0, 0.9) for both',
  ),
  'stylegan': Variant(
    'StyleGAN (configs/stylegan.py, 32×32)',
    {'data.pad': 32},
    '`configs/stylegan.py` (StyleGAN for MNIST at 32×32 on 2 CPU cores) on the stacked '
    'digits, zero-padded from 28×28 to 32×32',
    base='stylegan',
  ),
  'stylegan2': Variant(
    'StyleGAN2 (configs/stylegan2.py, 32×32)',
    {'data.pad': 32},
    '`configs/stylegan2.py` (StyleGAN2 for MNIST at 32×32 on 2 CPU cores) on the stacked '
    'digits, zero-padded from 28×28 to 32×32',
    base='stylegan2',
  ),
}

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defines the command's flags: when it runs, not on import.

  pytest imports its test beside `mode_collapse_2d`'s, which defines
  `--steps` and `--seeds` on import; absl refuses a flag defined twice in
  one process.
  """
  flags.DEFINE_enum(
    'variant',
    'dcgan',
    list(VARIANTS),
    'Which change of configs/dcgan.py:paper, or which other config, to train (VARIANTS).',
  )
  flags.DEFINE_integer('steps', 1_000, 'Train steps per seed.')
  flags.DEFINE_integer('seeds', 3, 'Runs (seeds 0, 1, ...); at least 2 for a standard error.')
  flags.DEFINE_integer('num_samples', 26_000, 'Samples per run that are classified.')
  flags.DEFINE_string(
    'workdir_root',
    None,
    'Each seed trains in <workdir_root>/seed_S, resuming if it holds checkpoints; default '
    'runs/stacked_mnist (or runs/stacked_mnist_<variant>) under the repo root.',
  )
  flags.DEFINE_string(
    'results_dir',
    os.path.join(ROOT, 'benchmarks', 'results'),
    'Where stacked_mnist.md and the sample grid go.',
  )
  flags.DEFINE_string('data_dir', '', "TFDS data_dir; '' for TFDS's default.")


RESULTS_FILE = 'stacked_mnist.md'
# The variant table at the end of RESULTS_FILE: one row per variant.
VARIANT_TITLE = 'Variants of the DCGAN row'
VARIANT_INTRO = (
  'Each row is `python benchmarks/stacked_mnist.py --variant NAME`: `configs/dcgan.py:paper` '
  '(or the base config its report names) with the fields of `VARIANTS[NAME]` in '
  '`benchmarks/stacked_mnist.py` changed, trained '
  'and scored as the DCGAN row above (same data, classifier and 26,000 samples). Its '
  'report (setup, per-seed figures, sample grid) is the file linked in its last cell. '
  'Published rows and the real-data bound: the table above.'
)
VARIANT_HEADER = (
  '| Method | Steps per run | Runs | Modes (max 1000) | KL | Command; date; wall time; report |\n'
  '| --- | ---: | ---: | ---: | ---: | --- |'
)
# Noise seed of the evaluation samples, apart from the run's own seed.
_EVAL_SEED_OFFSET = 0x57AC
# Images in the sample grid.
_GRID_SAMPLES = 64


class Published(NamedTuple):
  """A row of PacGAN's Table 2, its cells as printed there: modes (of 1000) and KL.

  pacgan_run: whether PacGAN trained it (with the length in its code, 10 runs,
    mean ± standard error) rather than quoting the figure of the paper it cites.
  """

  modes: str
  kl: str
  pacgan_run: bool = False


PUBLISHED_SOURCE = (
  "Published rows: every row of PacGAN's Table 2 (Lin et al., NeurIPS 2018) as the authors' "
  'repository shows it (fjxmlzn/PacGAN, `stacked_MNIST_experiments/results/Table2.png`). '
  'The DCGAN, ALI, Unrolled GAN and VEEGAN rows are the figures it quotes from those papers; '
  "the rest are PacGAN's own runs, mean ± standard error over 10."
)
PUBLISHED: dict[str, Published] = {
  'DCGAN': Published('99.0', '3.40'),
  'ALI': Published('16.0', '5.40'),
  'Unrolled GAN': Published('48.7', '4.32'),
  'VEEGAN': Published('150.0', '2.95'),
  "DCGAN (PacGAN's implementation)": Published('78.9 ± 6.46', '4.50 ± 0.127', pacgan_run=True),
  'PacDCGAN2': Published('1000.0 ± 0.00', '0.06 ± 0.003', pacgan_run=True),
  'PacDCGAN3': Published('1000.0 ± 0.00', '0.06 ± 0.003', pacgan_run=True),
  'PacDCGAN4': Published('1000.0 ± 0.00', '0.07 ± 0.005', pacgan_run=True),
}
# PacGAN's stacked-MNIST runs, from its code (fjxmlzn/PacGAN,
# stacked_MNIST_experiments/VEEGAN_experiment/config.py): 50 epochs of
# 128,000 images at batch 64.
PUBLISHED_STEPS = 50 * 128_000 // 64
PUBLISHED_RUNS = 10


class RunResult(NamedTuple):
  """One seed's figures."""

  seed: int
  step: int
  statistics: metrics.StackedMnistStatistics
  training: training_time.TrainingTime


def benchmark_config(seed: int, num_steps: int, data_dir: str | None, variant: str = 'dcgan'):
  """A variant's base config with its changes, on stacked MNIST, without evaluation.

  An override's field may be dotted (`data.pad`).
  """
  config = BASES[VARIANTS[variant].base].get_config()
  for field, value in VARIANTS[variant].overrides.items():
    *parents, name = field.split('.')
    node = config
    for parent in parents:
      node = node[parent]
    node[name] = value
  config.data.source = data.STACKED_MNIST
  config.data.split = 'train'
  config.data.data_dir = data_dir
  config.eval_every = 0
  config.num_steps = num_steps
  config.seed = seed
  return config


def classify_triples(params, stacked: np.ndarray) -> np.ndarray:
  """The digit the classifier reads in each channel.

  Args:
    params: MNIST classifier parameters.
    stacked: (N, S, S, 3) in [-1, 1], S >= 28: MNIST's 28x28, or digits
      zero-padded to S (the central 28x28 is read).

  Returns:
    int64 (N, 3): the arg-max class of the R, G and B channels.
  """
  margin = (stacked.shape[1] - 28) // 2
  stacked = stacked[:, margin : margin + 28, margin : margin + 28]
  # (N, 28, 28, 3) -> (N, 3, 28, 28) -> (3N, 28, 28, 1): image-major, so
  # rows of three belong to one image.
  channels = np.moveaxis(stacked, -1, 1).reshape(-1, 28, 28, 1)
  _, probabilities = classifier.classifier_outputs(params, channels)
  return probabilities.argmax(axis=-1).reshape(-1, 3)


def run_seed(
  config: ml_collections.ConfigDict, *, num_samples: int, workdir: str, params
) -> tuple[RunResult, np.ndarray]:
  """Trains (or resumes) one seed's `benchmark_config` and scores its samples.

  Returns:
    The seed's `RunResult` and its first `_GRID_SAMPLES` samples.
  """
  seed = config.seed
  training = training_time.train(config, workdir)
  run = saved_runs.load_run(workdir)
  step, model = run.step, run.experiment.model
  generated, _ = evaluation.draw_samples(
    model,
    run.state,
    jax.jit(model.sample),
    run.experiment.mesh,
    num_samples=num_samples,
    seed=seed + _EVAL_SEED_OFFSET,
  )
  statistics = metrics.stacked_mnist_statistics(classify_triples(params, generated))
  return RunResult(seed, step, statistics, training), generated[:_GRID_SAMPLES]


def run_key(seed: int) -> str:
  """A seed's name among a report's kept runs (`finished_runs`)."""
  return f'seed_{seed}'


def _figures(result: RunResult, num_samples: int) -> dict[str, float]:
  """What a kept run holds of `result`: its step, figures and how many samples gave them."""
  return {
    'step': result.step,
    'modes_captured': result.statistics.modes_captured,
    'kl': result.statistics.kl,
    'num_samples': num_samples,
  }


def find_kept(
  results_dir: str, stem: str, seed: int, config: ml_collections.ConfigDict, *, num_samples: int
) -> finished_runs.KeptRun | None:
  """Seed `seed` of the report `stem` as a finished run kept beside it, if it counts here.

  It counts when it trained with `config` (`finished_runs.find`) and was
  scored on as many samples as this command asks for.
  """
  kept = finished_runs.find(results_dir, stem, run_key(seed), config)
  if kept is None or kept.metrics.get('num_samples') != num_samples:
    return None
  return kept


def kept_result(seed: int, kept: finished_runs.KeptRun) -> RunResult:
  """The `RunResult` of a kept run, as the command that trained it reported it."""
  figures = kept.metrics
  return RunResult(
    seed,
    int(figures['step']),
    metrics.StackedMnistStatistics(int(figures['modes_captured']), float(figures['kl'])),
    kept.training_time,
  )


def real_statistics(
  params, *, num_samples: int, data_dir: str | None
) -> tuple[metrics.StackedMnistStatistics, float]:
  """The figures of `num_samples` real stacked training images.

  Returns:
    Their statistics, and the fraction whose three digits the classifier
    reads all correctly.
  """
  real, labels = data.load_split(data.STACKED_MNIST, split='train', data_dir=data_dir)
  chosen = np.sort(np.random.default_rng(0).choice(len(real), num_samples, replace=False))
  triples = classify_triples(params, real[chosen])
  accuracy = float(np.mean(triples @ np.array([100, 10, 1]) == labels[chosen]))
  return metrics.stacked_mnist_statistics(triples), accuracy


def mean_error(values) -> tuple[float, float]:
  """Mean and standard error (std with ddof 1 over sqrt(n)); nan error for n=1."""
  values = np.asarray(values, np.float64)
  error = values.std(ddof=1) / math.sqrt(values.size) if values.size > 1 else float('nan')
  return float(values.mean()), float(error)


def _cell(mean: float, error: float, fmt: str) -> str:
  if math.isnan(error):
    return f'{mean:{fmt}}'
  return f'{mean:{fmt}} ± {error:{fmt}}'


def results_table(
  runs: list[RunResult], real: metrics.StackedMnistStatistics, label: str = VARIANTS['dcgan'].label
) -> str:
  """The Markdown table: our row, the real-data bound, PacGAN's rows."""
  steps = sorted({r.step for r in runs})
  steps_cell = ', '.join(f'{s:,}' for s in steps)
  modes = mean_error([r.statistics.modes_captured for r in runs])
  kl = mean_error([r.statistics.kl for r in runs])
  lines = [
    '| Method | Source | Steps per run | Runs | Modes (max 1000) | KL |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    f'| {label} | jaxgan (this run) | {steps_cell} | {len(runs)} '
    f'| {_cell(*modes, ".1f")} | {_cell(*kl, ".3f")} |',
    f'| Real stacked images | jaxgan (this run) | — | — | {real.modes_captured} | {real.kl:.3f} |',
  ]
  for method, row in PUBLISHED.items():
    length = f'{PUBLISHED_STEPS:,} ‡ | {PUBLISHED_RUNS} ‡' if row.pacgan_run else '— | —'
    lines.append(f'| {method} | PacGAN Table 2 | {length} | {row.modes} | {row.kl} |')
  return '\n'.join(lines)


def main(argv: list[str]) -> None:
  del argv
  if FLAGS.seeds < 1 or FLAGS.steps < 1 or FLAGS.num_samples < 1:
    raise app.UsageError('--steps, --seeds and --num_samples must be at least 1.')
  command = 'python ' + ' '.join(shlex.quote(a) for a in sys.argv)
  started = datetime.datetime.now(datetime.timezone.utc)
  wall_start = time.monotonic()
  data_dir = FLAGS.data_dir or None  # '' on the command line: TFDS's default
  params = classifier.load_classifier()
  os.makedirs(FLAGS.results_dir, exist_ok=True)
  variant = FLAGS.variant
  stem = 'stacked_mnist' if variant == 'dcgan' else f'stacked_mnist_{variant}'
  workdir_root = FLAGS.workdir_root or os.path.join(ROOT, 'runs', stem)

  seeds = range(FLAGS.seeds)
  configs = {seed: benchmark_config(seed, FLAGS.steps, data_dir, variant) for seed in seeds}
  kept = {}
  for seed in seeds:
    found = find_kept(FLAGS.results_dir, stem, seed, configs[seed], num_samples=FLAGS.num_samples)
    if found is not None:
      kept[seed] = found
  if kept:
    print(finished_runs.counted_message(len(kept), len(seeds), FLAGS.results_dir, stem), flush=True)
  runs, kept_lines = [], []
  for seed in seeds:
    if seed in kept:
      result = kept_result(seed, kept[seed])
      kept_lines.append(finished_runs.describe(f'seed {seed}', kept[seed]))
    else:
      result, grid_samples = run_seed(
        configs[seed],
        num_samples=FLAGS.num_samples,
        workdir=os.path.join(workdir_root, f'seed_{seed}'),
        params=params,
      )
      finished_runs.keep(
        FLAGS.results_dir,
        stem,
        run_key(seed),
        configs[seed],
        metrics=_figures(result, FLAGS.num_samples),
        record=result.training,
        command=command,
      )
      if seed == 0:
        images.save_png(
          os.path.join(FLAGS.results_dir, f'{stem}_seed0.png'), images.make_grid(grid_samples)
        )
    runs.append(result)
    print(
      f'seed {seed}: step {result.step:,}, '
      f'{result.statistics.modes_captured} modes, KL {result.statistics.kl:.3f}; '
      f'{training_time.describe(result.training)}' + (' (kept)' if seed in kept else ''),
      flush=True,
    )

  real, accuracy = real_statistics(params, num_samples=FLAGS.num_samples, data_dir=data_dir)
  print(
    f'real: {real.modes_captured} modes, KL {real.kl:.3f}; triples read '
    f'correctly {100 * accuracy:.2f}%',
    flush=True,
  )
  wall = time.monotonic() - wall_start
  label = VARIANTS[variant].label
  table = results_table(runs, real, label)
  print(table)
  _write_results(
    os.path.join(FLAGS.results_dir, f'{stem}.md'),
    command=command,
    started=started,
    wall=wall,
    table=table,
    runs=runs,
    real_accuracy=accuracy,
    num_samples=FLAGS.num_samples,
    workdir_root=workdir_root,
    variant=variant,
    stem=stem,
    kept=kept_lines,
  )
  if variant != 'dcgan':
    steps_cell = ', '.join(f'{s:,}' for s in sorted({r.step for r in runs}))
    modes = mean_error([r.statistics.modes_captured for r in runs])
    kl = mean_error([r.statistics.kl for r in runs])
    run = (
      f'`{command}`; {started:%Y-%m-%d %H:%M} UTC; '
      f'{training_time.time_taken(wall, [r.training for r in runs])}; [{stem}.md]({stem}.md)'
    )
    variant_rows.upsert_row(
      os.path.join(FLAGS.results_dir, RESULTS_FILE),
      title=VARIANT_TITLE,
      intro=VARIANT_INTRO,
      header=VARIANT_HEADER,
      key=label,
      row=f'| {label} | {steps_cell} | {len(runs)} | {_cell(*modes, ".1f")} '
      f'| {_cell(*kl, ".3f")} | {run} |',
    )
    print(f'Updated the {label} row of {os.path.join(FLAGS.results_dir, RESULTS_FILE)}')


def _shown_path(path: str) -> str:
  """`path` relative to the repo root when it lies inside it."""
  relative = os.path.relpath(os.path.abspath(path), ROOT)
  return path if relative.startswith('..') else relative


def _setting(value) -> str:
  """A config value in one line; an optimizer sub-config as `adam(lr, b1, b2)`."""
  if isinstance(value, ml_collections.ConfigDict):
    if value.name == 'adam':
      return f'adam({value.learning_rate:g}, b1={value.b1:g}, b2={value.b2:g})'
    return f'{value.name}({value.learning_rate:g}, decay={value.decay:g})'
  return str(value)


def _write_results(
  path: str,
  *,
  command: str,
  started: datetime.datetime,
  wall: float,
  table: str,
  runs: list[RunResult],
  real_accuracy: float,
  num_samples: int,
  workdir_root: str,
  variant: str = 'dcgan',
  stem: str = 'stacked_mnist',
  kept: Sequence[str] = (),
) -> None:
  """Writes the table, how it was made and the per-seed figures.

  `kept` describes the runs counted from `finished_runs` rather than
  trained or scored by this command. The DCGAN row's file keeps the variant
  table at its end (`variant_rows`).
  """
  config = benchmark_config(0, runs[0].step, '', variant)
  batch = config.batch_size
  critic_steps = config.get('critic_steps', 1)
  real_per_step = batch * critic_steps
  base = BASES[VARIANTS[variant].base]
  train_size = data.STACKED_MNIST_SIZES['train']
  speeds = [r.training.steps_per_second for r in runs if r.training.steps_per_second]
  speed = (
    f'{np.median(speeds):.2f} steps/s per run (median over the {len(speeds)} of {len(runs)} '
    'runs with a record, each over the commands that trained it; compilation and '
    'checkpoints included)'
    if speeds
    else 'unknown (no run has a record of its training time)'
  )
  max_step = max(r.step for r in runs)
  title = '# Stacked MNIST mode collapse (PacGAN Table 2 protocol)'
  overrides = ', '.join(
    f'`{field}={_setting(value)}`' for field, value in VARIANTS[variant].overrides.items()
  )
  runs_line = (
    f'- Runs: seeds 0 to {len(runs) - 1}; ours are mean ± standard error over them.'
    if len(runs) > 1
    else '- Runs: one seed (0), so no standard error: a single run, not a mean.'
  )
  lines = [
    f'{title}: {VARIANTS[variant].label}' if variant != 'dcgan' else title,
    '',
    f'- Command: `{command}` (from the repo root)',
    f'- Date: {started:%Y-%m-%d %H:%M} UTC',
    f'- Wall time: {training_time.time_taken(wall, [r.training for r in runs])} on '
    f'{jax.device_count()} '
    f'{jax.devices()[0].platform.upper()} device(s), jax {jax.__version__}; '
    f'training speed {speed}.',
    f'- Training: `{base.config_file}` '
    f'with `data.source=stacked_mnist`, '
    f'`eval_every=0`{", " + overrides if overrides else ""}, {max_step:,} steps of batch '
    f'{batch}, {critic_steps} D update(s) per step, each on its own real batch '
    f'({max_step * real_per_step / train_size:.2f} epochs of the {train_size:,}-image '
    f'training set); runs in `{_shown_path(workdir_root)}/seed_S`.',
    f'- Variant `{variant}`: {VARIANTS[variant].about}.',
    runs_line,
    *finished_runs.report_lines(stem, kept),
    f'- Evaluation: {num_samples:,} samples from G as its family draws them '
    "(the DCGAN's BatchNorm in inference mode; StyleGAN's moving average of G); "
    'each channel classified by the committed MNIST classifier '
    '(`data/mnist_classifier/weights.msgpack`, Keras `mnist_cnn`); modes = '
    'distinct digit triples of 1000; KL = KL(triple histogram || uniform '
    f'over 1000), nats. The real row: {num_samples:,} stacked training '
    f'images (without replacement, fixed seed) through the same classifier, '
    f'which reads all three digits right in {100 * real_accuracy:.2f}% of '
    'them: the row is what a G that reproduced the data would score, up to '
    'sampling noise; with '
    f'{num_samples:,} samples a KL of about 999 / (2 × {num_samples:,}) = '
    f'{999 / (2 * num_samples):.3f} comes from sampling alone. The classifier '
    'gives every channel a digit however poorly formed (no confidence '
    'threshold), so while samples are still blurry (see the grid) the modes '
    'count the variety of its readings rather than of clean digits.',
    '',
    table,
    '',
    f"{PUBLISHED_SOURCE} ‡ From PacGAN's code "
    '(`stacked_MNIST_experiments/VEEGAN_experiment/config.py`: 50 epochs, '
    '128,000 training images, batch 64, runs 0-9), for the rows PacGAN '
    'trained; the rows it quotes show —.',
    '',
    f'Differences from the published setup: (1) the network: ours is {base.network}, '
    "while PacGAN's stacked-MNIST runs used their own DCGAN networks "
    '(from carpedm20/DCGAN-tensorflow, following VEEGAN), of another size. '
    f'(2) The training length: {max_step:,} steps here against '
    f"{PUBLISHED_STEPS:,} in PacGAN's code, so our row shows a much "
    'shorter run. (3) The runs: '
    f'{len(runs)} seed{"s" if len(runs) > 1 else ""} here, 10 in PacGAN. (4) The update: '
    'one D step and one G step in turn; the data set is ours '
    f'(`jaxgan.data.STACKED_MNIST`: {train_size:,} fixed triples of MNIST '
    "training digits, the size of PacGAN's). The classifier has "
    'the architecture PacGAN used (Keras `mnist_cnn`) but its own weights.',
    '',
    'Per seed (final step: modes / KL):',
    '',
  ]
  for r in runs:
    # Steps trained before the run had a record of its time (training_time).
    untimed = r.step - r.training.steps
    origin = f'; its first {untimed:,} steps untimed' if untimed else ''
    lines.append(
      f'- seed {r.seed} (step {r.step:,}{origin}): '
      f'{r.statistics.modes_captured} / {r.statistics.kl:.3f}'
    )
  # A kept seed 0 brings no grid: its grid is here only if an earlier
  # command of this report drew it.
  grid = f'{stem}_seed0.png'
  if os.path.exists(os.path.join(os.path.dirname(path), grid)):
    lines += ['', f'Samples of seed 0 (64, from fixed noise): `{grid}`', '']
  else:
    lines += ['', 'Samples of seed 0: none here (a kept run, drawn by a command elsewhere).', '']
  text = '\n'.join(lines)
  if variant == 'dcgan':
    text = variant_rows.keep_section(path, text)
  with open(path, 'w') as f:
    f.write(text)
  print(f'Wrote {path}')


if __name__ == '__main__':
  _define_flags()
  app.run(main)
