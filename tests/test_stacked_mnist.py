"""Tests of benchmarks/stacked_mnist.py: reading the digits, the figures, kept runs."""

import json
import math
import os
import re
import shutil
import subprocess
import sys

from absl import flags
import numpy as np

from benchmarks import stacked_mnist
from jaxgan import data
from jaxgan.eval import classifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_classifier_reads_the_three_digits_of_real_images_padded_or_not(data_dir):
  images, labels = data.load_split(data.STACKED_MNIST, split='test', data_dir=data_dir)
  images, labels = images[:300], labels[:300]
  params = classifier.load_classifier()
  triples = stacked_mnist.classify_triples(params, images)
  # The label of a stacked image is 100 r + 10 g + b (jaxgan.data).
  accuracy = np.mean(triples @ np.array([100, 10, 1]) == labels)
  assert accuracy > 0.95, accuracy
  # StyleGAN's variants pad the digits to 32x32 with the background's -1:
  # the central 28x28 is read, so nothing changes.
  padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)
  np.testing.assert_array_equal(stacked_mnist.classify_triples(params, padded), triples)


def test_mean_and_standard_error():
  mean, error = stacked_mnist.mean_error([970, 975, 980])
  assert mean == 975 and math.isclose(error, 5 / math.sqrt(3))
  mean, error = stacked_mnist.mean_error([973])
  assert mean == 973 and math.isnan(error)


def test_imports_beside_the_2d_benchmark_whose_flags_share_names():
  # pytest imports every test file into each of its processes, and absl
  # refuses a flag defined twice: stacked_mnist defines --steps and --seeds
  # when it runs, mode_collapse_2d on import.
  from benchmarks import mode_collapse_2d

  assert flags.FLAGS.find_module_defining_flag('steps') == mode_collapse_2d.__name__
  assert 'variant' not in flags.FLAGS  # stacked_mnist's own, defined by _define_flags


def _command(tmp_path, data_dir, *extra_flags: str) -> list[str]:
  """The DCGAN row in a few steps, scored on few samples, its runs and results under `tmp_path`."""
  return [
    sys.executable,
    os.path.join(ROOT, 'benchmarks', 'stacked_mnist.py'),
    '--steps=10',
    f'--workdir_root={tmp_path / "runs"}',
    f'--results_dir={tmp_path / "results"}',
    f'--data_dir={data_dir}',
    *extra_flags,
  ]


def _run(command: list[str]) -> str:
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  return done.stdout


def test_a_row_finishes_over_commands_whose_workdirs_are_gone(tmp_path, data_dir):
  """Seed 0 is kept when it is scored; a later command counts it and trains seed 1 alone."""
  runs, results = tmp_path / 'runs', tmp_path / 'results'
  _run(_command(tmp_path, data_dir, '--seeds=1', '--num_samples=500'))
  report = (results / 'stacked_mnist.md').read_text()
  seed_0 = re.search(r'^- seed 0 \(step 10\): \d+ / [\d.]+$', report, re.MULTILINE)
  assert seed_0, report
  kept = json.loads((results / 'stacked_mnist_runs.json').read_text())
  assert list(kept) == ['seed_0']
  assert kept['seed_0']['metrics']['num_samples'] == 500
  assert kept['seed_0']['training_time']['steps'] == 10
  shutil.rmtree(runs)  # The machine that trained it is gone.

  stdout = _run(_command(tmp_path, data_dir, '--seeds=2', '--num_samples=500'))
  assert '1 of 2 runs are kept finished' in stdout
  assert os.listdir(runs) == ['seed_1']
  report = (results / 'stacked_mnist.md').read_text()
  # Seed 0's figures as the first command scored them, then seed 1's.
  assert seed_0.group(0) + '\n- seed 1 (step 10): ' in report
  assert '| DCGAN (jaxgan DCGAN28) | jaxgan (this run) | 10 | 2 |' in report
  assert '- Kept runs, counted from `stacked_mnist_runs.json`' in report
  assert f'seed 0 (kept {kept["seed_0"]["kept_at"]} from `python ' in report
  # The grid the first command drew is still there, and named.
  assert (results / 'stacked_mnist_seed0.png').exists()
  assert 'Samples of seed 0 (64, from fixed noise): `stacked_mnist_seed0.png`' in report

  # Whether a kept run counts, as a later command asks: with the config
  # built here (with TFDS's default data_dir: where the data is read from
  # does not matter) and as many samples it does; with another number of
  # samples or another length it does not.
  config = stacked_mnist.benchmark_config(0, 10, None)
  kept = stacked_mnist.find_kept(str(results), 'stacked_mnist', 0, config, num_samples=500)
  assert kept is not None and kept.metrics['step'] == 10
  assert stacked_mnist.find_kept(str(results), 'stacked_mnist', 0, config, num_samples=400) is None
  longer = stacked_mnist.benchmark_config(0, 20, None)
  assert stacked_mnist.find_kept(str(results), 'stacked_mnist', 0, longer, num_samples=500) is None
