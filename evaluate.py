"""Evaluates the latest checkpoint of a training run.

  python evaluate.py --workdir=runs/dcgan [--num_samples=10000]

Writes metrics.json into the workdir: for MNIST-like images FID, KID,
precision/recall and the classifier Inception Score of G's samples against
the MNIST test digits, in the feature space of jaxgan's MNIST classifier;
for the 2-D mixtures the modes covered; each beside the same figures for
real data (the floor). See jaxgan/eval/ for the protocols.
"""

from absl import app
from absl import flags

from jaxgan.train import commands
from jaxgan.train import reporting
from jaxgan.train import saved_runs

_WORKDIR = flags.DEFINE_string('workdir', None, 'The workdir of a run of train.py.')
_NUM_SAMPLES = flags.DEFINE_integer(
  'num_samples', None, "Samples to draw; default the run's config.eval_samples."
)
flags.mark_flags_as_required(['workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  reporting.quiet_library_logs()
  with commands.one_line_errors():
    report = saved_runs.evaluate_checkpoint(_WORKDIR.value, num_samples=_NUM_SAMPLES.value)
  print(f'{"metric":<18}{"samples":>12}{"real vs real":>14}')
  for name, value in report['metrics'].items():
    floor = report['real_vs_real'].get(name)
    print(f'{name:<18}{value:>12.4g}' + ('' if floor is None else f'{floor:>14.4g}'))
  print(f'Written to {_WORKDIR.value}/metrics.json')


if __name__ == '__main__':
  app.run(main)
