"""A guard: every shipped config's train step computes what it computed before.

Each case builds a shipped config's networks, optimizers and options at seed
0, feeds its train step 20 fixed batches (real MNIST digits read straight
from the bundled IDX files, or 2-D mixture points; not through the data
pipeline) and compares checksums of the resulting parameters, batch
statistics and moving average with those recorded in
`step_checksums.json` before the code was reorganised into families. A
refactor that changes what any network or step computes fails here.

The recorded figures are XLA:CPU's, with the jax version and the kind of CPU
(model name and widest vector unit) the file names; other backends round
differently, so the test runs on the CPU only, and another jax version or
another CPU (XLA:CPU compiles for the CPU it runs on) is held to a loose
tolerance (`OTHER_VERSION_RTOL`).
After the move every case was bit-identical. The file was re-recorded on an
AMD EPYC (2026-12-02) from code that still matched the pre-move record bit
for bit on the earlier development machine (stop 21's CI, jax 0.10.2);
against that record all 21 cases were within 5.7e-3 in sums of squares,
and none was bit-identical. It was re-recorded there again when XLA:CPU's
convolutions moved from YNNPACK to Eigen (`jaxgan.train.compilation`): the
7 convolutional cases changed by up to 0.11 relative after 20 steps, the 14
others stayed bit-identical. The suite runs the cases of
`SUITE_CASES` (each compiles a program of its own, 5 to 25 s on 2 cores),
the networks and step options that no other test pins to known values; all
22, with a line per case saying whether it is bit-identical:

  JAX_PLATFORMS=cpu python tests/test_step_checksums.py --check

To re-record after a deliberate change of what a step computes (say so in
the commit):

  JAX_PLATFORMS=cpu python tests/test_step_checksums.py --record
"""

import gzip
import importlib
import json
import os
import platform
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from jaxgan import data  # pylint: disable=g-import-not-at-top
from jaxgan import families
from jaxgan import parallel
from jaxgan.train import steps

CHECKSUMS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'step_checksums.json')
NUM_STEPS = 20

# name: (config module[:recipe], overrides); 'channels' sets the image channels (1).
CASES = {
  'gan': ('configs.gan', {}),
  # The paper's DCGAN, as configs/dcgan.py was until its default run moved
  # to half-width networks (the 'dcgan_mnist' case).
  'dcgan': ('configs.dcgan:paper', {}),
  'dcgan_mnist': ('configs.dcgan', {}),
  'dcgan64': ('configs.dcgan:paper', {'resolution': 64}),
  'cgan': ('configs.cgan', {}),
  'cgan_dcgan_hinge_sn_projection': (
    'configs.cgan',
    {'model': 'dcgan', 'loss': 'hinge', 'spectral_norm': True, 'conditioning': 'projection'},
  ),
  'wgan': ('configs.wgan', {}),
  'wgan_gp': ('configs.wgan_gp', {}),
  'lsgan': ('configs.lsgan', {}),
  'sngan': ('configs.sngan', {}),
  'pacgan': ('configs.pacgan', {}),
  'minibatch_discrimination': ('configs.minibatch_discrimination', {}),
  'feature_matching': ('configs.feature_matching', {}),
  'minibatch_stddev': ('configs.minibatch_stddev', {}),
  # The stacked-MNIST variants: DCGAN on 28x28x3.
  'stacked_dcgan_packing': ('configs.dcgan:paper', {'packing': 2, 'channels': 3}),
  'stacked_dcgan_wgan_gp': (
    'configs.dcgan:paper',
    {
      'loss': 'wasserstein',
      'gradient_penalty': 10.0,
      'critic_steps': 5,
      'discriminator_normalization': 'layer_norm',
      'channels': 3,
    },
  ),
  'stacked_dcgan_md': ('configs.dcgan:paper', {'minibatch_discrimination': 100, 'channels': 3}),
  # The 2-D mode-collapse benchmark's configs.
  'gan_2d': ('benchmarks.configs.gan_2d', {}),
  'pacgan4_2d': ('benchmarks.configs.pacgan4_2d', {}),
  'minibatch_discrimination_2d': ('benchmarks.configs.minibatch_discrimination_2d', {}),
  'feature_matching_2d': ('benchmarks.configs.feature_matching_2d', {}),
  'wgan_gp_2d': ('benchmarks.configs.wgan_gp_2d', {}),
}


def _mnist(count: int) -> tuple[np.ndarray, np.ndarray]:
  """The first `count` MNIST training digits, uint8 (count, 28, 28), and labels."""
  folder = os.path.join(ROOT, 'data', 'mnist')
  with gzip.open(os.path.join(folder, 'train-images-idx3-ubyte.gz')) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
  with gzip.open(os.path.join(folder, 'train-labels-idx1-ubyte.gz')) as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
  return images[:count], labels[:count].astype(np.int32)


def fixed_batches(
  shape, *, num_steps: int, critic_steps: int, batch_size: int, labels: bool
) -> list[dict[str, np.ndarray]]:
  """`num_steps` batches of (critic_steps, batch_size, *shape), fixed by the case.

  Images are MNIST digits in [-1, 1], consecutive ones stacked as channels
  and tiled up to larger sizes; points are draws of the 2-D ring.
  """
  count = num_steps * critic_steps * batch_size
  if shape == 'points':
    points = data.mixtures.sample_mixture(0, data.mixtures.ring_modes(), 0.01, count)
    points = points.astype(np.float32).reshape(num_steps, critic_steps, batch_size, 2)
    return [{'point': p} for p in points]
  height, width, channels = shape
  digits, digit_labels = _mnist(count * channels)
  images = digits.reshape(count, channels, 28, 28).transpose(0, 2, 3, 1)
  reps = (1, -(-height // 28), -(-width // 28), 1)
  images = np.tile(images, reps)[:, :height, :width]
  images = images.astype(np.float32) / 127.5 - 1.0
  batches = []
  for step, chunk in enumerate(images.reshape(num_steps, critic_steps, batch_size, *shape)):
    batch = {'image': chunk}
    if labels:
      batch['label'] = digit_labels[::channels][
        step * critic_steps * batch_size : (step + 1) * critic_steps * batch_size
      ].reshape(critic_steps, batch_size)
    batches.append(batch)
  return batches


def _checksums(tree) -> dict[str, float]:
  """Fingerprints of each part of the state, in float64.

  The sum and the sum of squares, and a projection on fixed random signs,
  which every parameter enters with its own weight: a change confined to
  one layer, or two changes that cancel in the sum, still shows.
  """
  out = {}
  for part, value in tree.items():
    leaves = [np.asarray(x, np.float64).ravel() for x in jax.tree.leaves(value)]
    if leaves:
      flat = np.concatenate(leaves)
      signs = np.random.default_rng(0).choice([-1.0, 1.0], size=flat.size)
      out[f'{part}/sum'] = float(flat.sum())
      out[f'{part}/sum_of_squares'] = float(flat @ flat)
      out[f'{part}/projection'] = float(flat @ signs)
  return out


def run_case(name: str) -> dict[str, float]:
  """Trains case `name` for NUM_STEPS fixed batches; the checksums of its state."""
  module, overrides = CASES[name]
  module, _, recipe = module.partition(':')
  get_config = importlib.import_module(module).get_config
  config = get_config(recipe) if recipe else get_config()
  overrides = dict(overrides)
  channels = overrides.pop('channels', 1)
  config.update(overrides)
  config.seed = 0
  if not module.startswith('benchmarks'):
    # A smaller batch than the configs' 64 keeps the 20 steps of the 21
    # cases within a minute or two; the step is the same program.
    config.batch_size = min(config.batch_size, 16)
  mesh = parallel.make_data_mesh(jax.devices()[:1])
  if module.startswith('benchmarks'):
    shape, feature, num_classes = 'points', 'point', None
  else:
    size = config.resolution if config.model == 'dcgan' else 28
    shape, feature = (size, size, channels), 'image'
    num_classes = 10 if config.conditioning != 'none' else None
  info = data.DatasetInfo(
    source='fixed batches',
    shape=(2,) if shape == 'points' else shape,
    num_classes=num_classes,
    num_examples=60_000,
    feature=feature,
  )
  model = families.load(config.family).build(config, {'real': info})
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  state = jax.jit(model.init, out_shardings=replicated)(jax.random.key(0))
  train_call = steps.make_train_call(model, mesh, model.state_partition(state))
  batches = fixed_batches(
    shape,
    num_steps=NUM_STEPS,
    critic_steps=config.critic_steps,
    batch_size=config.batch_size,
    labels=num_classes is not None,
  )
  sharding = jax.sharding.NamedSharding(mesh, steps.BATCH_PARTITION)
  for batch in batches:
    # One step per call; calls of K steps follow the same path (test_loop.py).
    batch = jax.device_put({'real': jax.tree.map(lambda x: x[None], batch)}, sharding)
    state, _ = train_call(state, batch)
  state = jax.device_get(state)
  return _checksums(
    {
      'generator_params': state.generator_params,
      'generator_ema_params': state.generator_ema_params,
      'generator_batch_stats': state.generator_batch_stats,
      'discriminator_params': state.discriminator_params,
      'discriminator_batch_stats': state.discriminator_batch_stats,
    }
  )


# Left out of the suite, checked with --check: paths the suite's cases take
# too (the MLP with another loss or with labels, the 2-D networks' other
# remedies, the DCGAN's options on three channels instead of one, the 64x64
# preset of the DCGAN's layers, which also trains in tests/test_loop.py; the
# default DCGAN run's half-width layers and moving average of G), and
# options whose arithmetic test_classic_step.py, test_remedies.py and
# test_toy2d_networks.py pin against known values (weight clipping, spectral
# norm, the remedies, the 2-D networks).
_BY_HAND_ONLY = (
  'lsgan',
  'cgan',
  'wgan',
  'sngan',
  'minibatch_stddev',
  'minibatch_discrimination',
  'feature_matching',
  'pacgan',
  'gan_2d',
  'wgan_gp_2d',
  'pacgan4_2d',
  'minibatch_discrimination_2d',
  'feature_matching_2d',
  'stacked_dcgan_packing',
  'stacked_dcgan_md',
  'stacked_dcgan_wgan_gp',
  'dcgan64',
  'dcgan_mnist',
)
SUITE_CASES = sorted(set(CASES) - set(_BY_HAND_ONLY))


# The file's entries that name the jax version and the kind of CPU the
# checksums were recorded with.
RECORDED_WITH = 'recorded_with_jax'
RECORDED_ON = 'recorded_on_cpu'
# Across jax versions XLA compiles the same step into differently rounded
# programs, and 20 steps of Adam amplify the rounding. Measured on jax 0.7.2
# against 0.10.2's record: sums of squares within 2e-4 to 5e-3 relative
# (the same size as 0.10.2's own gaps at --xla_backend_optimization_level=0);
# plain sums, which are near zero, move more. So another version is held to
# the sums of squares, loosely. Another CPU does the same: on an AMD EPYC,
# against the record made on the earlier development machine with the same
# jax 0.10.2, sums of squares were within 5.7e-3 and projections 8.6e-2.
OTHER_VERSION_RTOL = 2e-2
# XLA:CPU compiles for the host's vector instructions, so a CPU of the same
# name computes other bits where its widest vector unit differs: an AVX2-only
# "AMD EPYC" (family 25, model 1) differs from the record in the 5th digit
# of projections after 3 steps, with the same jax. The record's "AMD EPYC
# (avx512)" is inferred, not read: CI's machines reproduce the record bit for
# bit and that AVX2 EPYC does not. Where the inference is wrong, CI holds
# the record to OTHER_VERSION_RTOL, as on any other kind of CPU.
_VECTOR_UNITS = ('avx512f', 'avx2', 'avx', 'asimd', 'neon')


def _record() -> tuple[dict[str, dict[str, float]], str, str | None]:
  """The file's checksums by case, the jax version and the CPU kind they were recorded with."""
  with open(CHECKSUMS_FILE) as f:
    record = json.load(f)
  checksums = {
    name: values for name, values in record.items() if name not in (RECORDED_WITH, RECORDED_ON)
  }
  return checksums, record[RECORDED_WITH], record.get(RECORDED_ON)


def _cpu_kind() -> str:
  """The CPU's model name and widest vector unit, as in 'AMD EPYC (avx512)'.

  From Linux's /proc/cpuinfo; elsewhere `platform.processor()` alone.
  """
  try:
    with open('/proc/cpuinfo') as f:
      lines = f.read().splitlines()
  except OSError:
    return platform.processor()
  field = lambda name: next(
    (line.split(':', 1)[1].strip() for line in lines if line.split(':')[0].strip() == name), ''
  )
  flags = set(field('flags').split() or field('Features').split())
  unit = next((unit for unit in _VECTOR_UNITS if unit in flags), 'none')
  return f'{field("model name") or platform.processor()} ({unit.removesuffix("f")})'


def run_case_in_a_process_of_its_own(name: str) -> dict[str, float]:
  """`run_case(name)` in a fresh Python, which compiles with the XLA flags it inherits.

  The suite's processes compile at LLVM's -O0 (tests/conftest.py), and
  everything a case compiles must be compiled as it was for the record: the
  initialisation and the batches too, not only jaxgan's step, which alone
  takes per-compilation options. The test's `full_optimization` marker
  gives the subprocess the flags the suite was started with.
  """
  completed = subprocess.run(
    [sys.executable, os.path.abspath(__file__), '--case', name],
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )
  assert completed.returncode == 0, completed.stderr[-3000:]
  return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(jax.default_backend() != 'cpu', reason='checksums recorded on XLA:CPU')
@pytest.mark.full_optimization
@pytest.mark.parametrize('name', SUITE_CASES)
def test_step_computes_what_it_computed_before_the_move(name):
  checksums, recorded_with, recorded_on = _record()
  recorded = checksums[name]
  computed = run_case_in_a_process_of_its_own(name)
  assert sorted(computed) == sorted(recorded)
  same_program = jax.__version__ == recorded_with and _cpu_kind() == recorded_on
  for key, value in recorded.items():
    if same_program:
      # Same program, same machine kind: equal up to the last bits that a
      # different fusion of the same operations may change.
      np.testing.assert_allclose(computed[key], value, rtol=1e-6, atol=1e-6, err_msg=key)
    elif key.endswith('sum_of_squares'):
      np.testing.assert_allclose(computed[key], value, rtol=OTHER_VERSION_RTOL, err_msg=key)


if __name__ == '__main__':
  if len(sys.argv) == 3 and sys.argv[1] == '--case':  # One case's checksums, for the suite.
    print(json.dumps(run_case(sys.argv[2])))
    sys.exit()
  if sys.argv[1:] not in (['--record'], ['--check']):
    sys.exit(__doc__)
  results = {}
  recorded_checksums = _record()[0] if sys.argv[1] == '--check' else None
  for case in sorted(CASES):
    start = time.monotonic()
    results[case] = run_case(case)
    if sys.argv[1] == '--check':
      recorded = recorded_checksums[case]
      worst = max(abs(results[case][k] - v) / max(abs(v), 1e-12) for k, v in recorded.items())
      same = results[case] == recorded
      print(f'{case}: {"bit-identical" if same else f"largest relative difference {worst:.1e}"}')
    else:
      print(f'{case}: {time.monotonic() - start:.1f} s', flush=True)
  if sys.argv[1] == '--record':
    results[RECORDED_WITH] = jax.__version__
    results[RECORDED_ON] = _cpu_kind()
    with open(CHECKSUMS_FILE, 'w') as f:
      json.dump(results, f, indent=2, sort_keys=True)
      f.write('\n')
