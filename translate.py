"""Translates a folder of images with a generator of a CycleGAN run.

  python translate.py --workdir=runs/horse2zebra --direction=a2b \
      --input=photos/ --output=zebras/

--direction=a2b uses G (domain A to B), b2a uses F. Every PNG and JPEG under
--input, of any size and colour mode, is translated by the latest checkpoint
in --workdir and written as a PNG of the same size to --output, at the same
relative path. Nothing is written if --output already holds one of those
files.
"""

from absl import app
from absl import flags

from jaxgan.families.cyclegan import translation
from jaxgan.train import commands
from jaxgan.train import reporting

_WORKDIR = flags.DEFINE_string('workdir', None, 'The workdir of a CycleGAN run of train.py.')
_DIRECTION = flags.DEFINE_enum('direction', 'a2b', list(translation.DIRECTIONS), 'a2b: G, b2a: F.')
_INPUT = flags.DEFINE_string('input', None, 'A folder of images to translate.')
_OUTPUT = flags.DEFINE_string('output', None, 'The folder the translations go to.')
flags.mark_flags_as_required(['workdir', 'input', 'output'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  reporting.quiet_library_logs()
  with commands.one_line_errors():
    written = translation.translate_folder(
      _WORKDIR.value, direction=_DIRECTION.value, input_dir=_INPUT.value, output_dir=_OUTPUT.value
    )
  print(f'Translated {len(written)} images into {_OUTPUT.value}')


if __name__ == '__main__':
  app.run(main)
