"""Draws samples from the latest checkpoint of a training run into a PNG.

  python sample.py --workdir=runs/cgan --label=7 [--num_samples=64] [--seed=0]

For a conditional GAN, --label picks the class; without it the grid is
the run's own sample grid (one row per class, the same z down each
column). For an unconditional GAN, leave out --label. Writes
WORKDIR/samples/checkpoint[_label_L].png unless --output says where.
"""

from absl import app
from absl import flags
from etils import epath

from jaxgan.train import commands
from jaxgan.train import reporting
from jaxgan.train import saved_runs

_WORKDIR = flags.DEFINE_string('workdir', None, 'The workdir of a run of train.py.')
_LABEL = flags.DEFINE_integer('label', None, 'Class to draw (conditional GANs only).')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 64, 'Images in the grid.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the noise.')
_OUTPUT = flags.DEFINE_string('output', None, 'Path of the PNG; see above for the default.')
flags.mark_flags_as_required(['workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  reporting.quiet_library_logs()
  output = _OUTPUT.value
  if output is None:
    suffix = '' if _LABEL.value is None else f'_label_{_LABEL.value}'
    output = str(epath.Path(_WORKDIR.value) / 'samples' / f'checkpoint{suffix}.png')
  with commands.one_line_errors():
    path = saved_runs.sample_checkpoint(
      _WORKDIR.value,
      output=output,
      label=_LABEL.value,
      num_samples=_NUM_SAMPLES.value,
      seed=_SEED.value,
    )
  print(f'Written to {path}')


if __name__ == '__main__':
  app.run(main)
