"""Draws from the latest checkpoint of a training run: a grid, an interpolation, a figure, an array.

  python sample.py --workdir=runs/dcgan                        # a grid of samples
  python sample.py --workdir=runs/cgan --label=7               # one class of a cGAN
  python sample.py --workdir=runs/dcgan --mode=interpolation   # an animated GIF
  python sample.py --workdir=runs/stylegan --mode=mixing       # StyleGAN's figures
  python sample.py --workdir=runs/stylegan --mode=truncation
  python sample.py --workdir=runs/dcgan --num_samples=10000 --output=samples.npz

--mode=grid (the default): for a conditional GAN, --label picks the class;
without it the grid is the run's own sample grid (one row per class, the
same z down each column). With an --output ending in .npz, the samples are
written as an array instead: 'images', uint8 NHWC, and for a conditional
GAN 'labels' (every class in turn), for other evaluation tools.

--mode=interpolation: looping walks between --keyframes random latents
(spherical in a Gaussian z, straight lines in StyleGAN's w; for a
conditional GAN one walk per class along the same path) as an animated GIF,
and its frames as a PNG strip beside it (one row per walk).

--mode=mixing and --mode=truncation (StyleGAN and StyleGAN2 runs): the
paper's style mixing figure (coarse, middle and fine styles of the top
row's seeds copied into the left column's) and a sweep of the truncation
psi from 1 to -1 (one seed per row).

Written to WORKDIR/samples/checkpoint[_label_L|_MODE].png (.gif for an
interpolation) unless --output says where.
"""

from absl import app
from absl import flags
from etils import epath

from jaxgan.train import commands
from jaxgan.train import reporting
from jaxgan.train import saved_runs

MODES = ('grid', 'interpolation', 'mixing', 'truncation')

_WORKDIR = flags.DEFINE_string('workdir', None, 'The workdir of a run of train.py.')
_MODE = flags.DEFINE_enum('mode', 'grid', MODES, 'What to draw; see above.')
_LABEL = flags.DEFINE_integer('label', None, 'Class to draw (conditional GANs, --mode=grid).')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 64, 'Images in the grid or the .npz.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the noise.')
_WALKS = flags.DEFINE_integer('walks', 4, 'Interpolation: walks side by side (unconditional).')
_KEYFRAMES = flags.DEFINE_integer('keyframes', 4, 'Interpolation: latents each walk visits.')
_FRAMES = flags.DEFINE_integer('frames_per_keyframe', 12, 'Interpolation: frames between two.')
_FPS = flags.DEFINE_float('fps', 12.0, "Interpolation: the GIF's frames per second.")
_OUTPUT = flags.DEFINE_string('output', None, 'Path to write; see above for the default.')
flags.mark_flags_as_required(['workdir'])


def default_output(workdir: str, mode: str, label: int | None) -> str:
  """WORKDIR/samples/checkpoint[_label_L|_MODE].png, or .gif for an interpolation."""
  suffix = {'grid': '' if label is None else f'_label_{label}'}.get(mode, f'_{mode}')
  extension = '.gif' if mode == 'interpolation' else '.png'
  return str(epath.Path(workdir) / 'samples' / f'checkpoint{suffix}{extension}')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  reporting.quiet_library_logs()
  mode, workdir, seed = _MODE.value, _WORKDIR.value, _SEED.value
  output = _OUTPUT.value or default_output(workdir, mode, _LABEL.value)
  with commands.one_line_errors():
    if _LABEL.value is not None and mode != 'grid':
      raise ValueError(f'--label draws one class in a grid; leave it out with --mode={mode}.')
    if mode == 'grid' and output.endswith('.npz'):
      written = [
        saved_runs.export_samples(workdir, output=output, num_samples=_NUM_SAMPLES.value, seed=seed)
      ]
    elif mode == 'grid':
      written = [
        saved_runs.sample_checkpoint(
          workdir, output=output, label=_LABEL.value, num_samples=_NUM_SAMPLES.value, seed=seed
        )
      ]
    elif mode == 'interpolation':
      written = saved_runs.interpolate_checkpoint(
        workdir,
        output=output,
        seed=seed,
        walks=_WALKS.value,
        num_keyframes=_KEYFRAMES.value,
        frames_per_keyframe=_FRAMES.value,
        fps=_FPS.value,
      )
    else:
      written = [saved_runs.figure_checkpoint(workdir, figure=mode, output=output, seed=seed)]
  print(f'Written to {", ".join(written)}')


if __name__ == '__main__':
  app.run(main)
