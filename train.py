"""Trains a GAN from a config file.

  python train.py --config=configs/dcgan.py [--workdir=runs/dcgan]
      [--config.num_steps=5000 ...]

Running the same command again resumes from the workdir's latest checkpoint.
"""

from absl import app
from absl import flags
from etils import epath
import jax
from ml_collections import config_flags

from jaxgan.train import commands
from jaxgan.train import loop
from jaxgan.train import reporting

_CONFIG = config_flags.DEFINE_config_file(
  'config', None, 'Path to a config file in configs/.', lock_config=True
)
_WORKDIR = flags.DEFINE_string(
  'workdir',
  None,
  'Where checkpoints, samples and TensorBoard events go (a local path or gs://...); '
  'default runs/<config file name>, or runs/<name>_<recipe> for --config=<file>:<recipe>.',
)
_DISTRIBUTED = flags.DEFINE_bool(
  'distributed',
  False,
  'Call jax.distributed.initialize() first, for a run over several hosts '
  '(a TPU pod slice, a multi-node GPU job); each host runs this command.',
)
flags.mark_flags_as_required(['config'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  reporting.quiet_library_logs()
  if _DISTRIBUTED.value:
    jax.distributed.initialize()
  # 'configs/dcgan.py:paper' (a recipe after the colon) runs in runs/dcgan_paper.
  path, _, recipe = config_flags.get_config_filename(flags.FLAGS['config']).partition(':')
  config_name = '_'.join(filter(None, [epath.Path(path).stem, recipe]))
  with commands.one_line_errors():
    loop.train_and_evaluate(_CONFIG.value, _WORKDIR.value or f'runs/{config_name}')


if __name__ == '__main__':
  app.run(main, flags_parser=commands.parse_flags)
