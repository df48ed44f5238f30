"""CycleGAN on MNIST -> an MNIST-M-like domain: does F take the digit off its texture?

Run by hand from anywhere (the script puts the repo root on sys.path):

  python benchmarks/cyclegan_mnist.py                        # configs/cyclegan_mnist.py
  python benchmarks/cyclegan_mnist.py --name=no_cycle --config.cycle_weight_a=0 --config.cycle_weight_b=0   # the ablation
  python benchmarks/cyclegan_mnist.py --config.num_steps=20 --config.eval_samples=1000 \\
      --workdir_root=/tmp/cg --results_dir=/tmp/cg        # a smoke run

Trains `configs/cyclegan_mnist.py` (with any --config.x=y overrides) in
`<workdir_root>/<name>` with `jaxgan.train.loop.train_and_evaluate`, resuming
from its checkpoints if it has any; its last evaluation reads F(b) for the
10,000 test images of domain B with jaxgan's MNIST classifier (label
accuracy, FID against the real test digits). Then, from the final
checkpoint:
- the source-only baseline: the same classifier on the untranslated b,
  converted to gray (ITU-R 601 luma, as PIL's 'L'), and its FID;
- the mean L1 cycle error |F(G(a)) - a| and |G(F(b)) - b| over the first
  `_CYCLE_IMAGES` test images of each domain, in [-1, 1] units (so 2 is the
  largest possible);
- the last sample grid, copied beside the report.
The report goes to `<results_dir>/cyclegan_mnist[_<name>].md`, with the
command, date and wall time; several names share one table of rows at the
end of `cyclegan_mnist.md`.
"""

import datetime
import json
import os
import shlex
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import jax
import numpy as np
from ml_collections import config_flags

from jaxgan import data
from jaxgan import eval as eval_lib
from jaxgan.eval import mnist
from jaxgan.families.cyclegan import model as model_lib
from jaxgan.train import loop
from jaxgan.train import reporting
from jaxgan.train import saved_runs

_CONFIG = config_flags.DEFINE_config_file(
  'config', os.path.join(ROOT, 'configs', 'cyclegan_mnist.py'), 'The run to measure.'
)
_NAME = flags.DEFINE_string('name', 'default', 'The row: its workdir and report names.')
_WORKDIR_ROOT = flags.DEFINE_string(
  'workdir_root', os.path.join(ROOT, 'runs', 'cyclegan_mnist'), ''
)
_RESULTS_DIR = flags.DEFINE_string('results_dir', os.path.join(ROOT, 'benchmarks', 'results'), '')

# Sampled per call when translating the test sets.
_CHUNK = 1000
# Test images of each domain whose round trips are measured: each costs four
# generator passes (about 2 minutes per 1,000 on 2 cores for the preset).
_CYCLE_IMAGES = 1000


def translate_all(model, state, direction: str, images: np.ndarray) -> np.ndarray:
  translate = jax.jit(lambda s, x: model.translate(s, direction, x))
  return np.concatenate(
    [np.asarray(translate(state, images[i : i + _CHUNK])) for i in range(0, len(images), _CHUNK)]
  )


def main(argv):
  del argv
  reporting.quiet_library_logs()
  config = _CONFIG.value
  workdir = os.path.join(_WORKDIR_ROOT.value, _NAME.value)
  config.eval_every = config.num_steps  # At least the final evaluation.
  start = time.monotonic()
  loop.train_and_evaluate(config, workdir)
  train_time = time.monotonic() - start
  with open(os.path.join(workdir, 'metrics.json')) as f:
    report = json.load(f)
  run = saved_runs.load_run(workdir)
  model, state = run.experiment.model, run.state
  data_dir = config.data.data_dir or None
  test_a, _ = data.load_split(config.data.source, split='testA', data_dir=data_dir)
  test_b, labels_b = data.load_split(config.data.source, split='testB', data_dir=data_dir)
  # In the channels the run read them in (--config.data.channels=3: gray digits as RGB).
  test_a = np.repeat(test_a, model.image_shape_a[-1] // test_a.shape[-1], axis=-1)
  round_trip = lambda first, second, x: translate_all(
    model, state, second, translate_all(model, state, first, x)
  )
  cycle_a = np.mean(np.abs(round_trip('ab', 'ba', test_a[:_CYCLE_IMAGES]) - test_a[:_CYCLE_IMAGES]))
  cycle_b = np.mean(np.abs(round_trip('ba', 'ab', test_b[:_CYCLE_IMAGES]) - test_b[:_CYCLE_IMAGES]))
  evaluator = eval_lib.make_evaluator(run.experiment.datasets[model_lib.A], data_dir=data_dir)
  source_only = evaluator(mnist.to_gray(test_b).astype(np.float32), labels_b)
  translated = report['metrics']
  elapsed = time.monotonic() - start

  os.makedirs(_RESULTS_DIR.value, exist_ok=True)
  suffix = '' if _NAME.value == 'default' else f'_{_NAME.value}'
  grids = sorted(os.listdir(os.path.join(workdir, 'samples')))
  grid_name = f'cyclegan_mnist{suffix}_samples.png'
  shutil.copy(
    os.path.join(workdir, 'samples', grids[-1]), os.path.join(_RESULTS_DIR.value, grid_name)
  )
  command = 'python benchmarks/cyclegan_mnist.py ' + shlex.join(sys.argv[1:])
  lines = [
    f'# CycleGAN, MNIST -> textured MNIST (32x32): {_NAME.value}',
    '',
    f'Command: `{command}`',
    f'Date: {datetime.date.today()}; jax {jax.__version__} on {jax.devices()[0].platform}, '
    f'{os.cpu_count()} cores; training {train_time / 60:.1f} min '
    f'({config.num_steps} steps of batch {config.batch_size}), all {elapsed / 60:.1f} min.',
    '',
    f"F(b) on the {len(test_b)} test images of domain B, read by jaxgan's MNIST classifier "
    '(central 28x28):',
    '',
    '| | label accuracy | FID vs MNIST test | classes covered |',
    '| --- | ---: | ---: | ---: |',
    f'| F(b), step {report["step"]} | {translated["label_accuracy"]:.3f} | {translated["fid"]:.1f} '
    f'| {translated["classes_covered"]} |',
    f'| source only: b in gray | {source_only["label_accuracy"]:.3f} | {source_only["fid"]:.1f} '
    f'| {source_only["classes_covered"]} |',
    f'| real MNIST (training digits) | {report["real_vs_real"]["label_accuracy"]:.3f} '
    f'| {report["real_vs_real"]["fid"]:.1f} | {report["real_vs_real"]["classes_covered"]} |',
    '',
    f'Mean L1 cycle error over {_CYCLE_IMAGES} test images of each domain ([-1, 1] units): |F(G(a)) - a| = {cycle_a:.4f}, '
    f'|G(F(b)) - b| = {cycle_b:.4f}.',
    '',
    f'Sample grid at step {report["step"]}: `{grid_name}` (rows: a | G(a) | F(G(a)) | b | F(b) | '
    'G(F(b))).',
    '',
  ]
  path = os.path.join(_RESULTS_DIR.value, f'cyclegan_mnist{suffix}.md')
  with open(path, 'w') as f:
    f.write('\n'.join(lines))
  print('\n'.join(lines))
  print(f'Written to {path}')


if __name__ == '__main__':
  app.run(main)
