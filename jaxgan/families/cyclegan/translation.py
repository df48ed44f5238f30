"""Translating a folder of images with one generator of a trained CycleGAN run.

What `translate.py` runs: the latest good checkpoint of a run's workdir,
G (a2b) or F (b2a), every PNG and JPEG under a folder, each written as a
PNG under the output folder at the same relative path. Images of any size
and colour mode are taken: they are converted to the input domain's
channels (as training read them), padded by reflection to sides the
generator takes (multiples of 4) and cropped back afterwards, so each
output has its input's size.
"""

import os

from etils import epath
import jax.numpy as jnp
import numpy as np
import tqdm

from jaxgan import data
from jaxgan.data import sources
from jaxgan.families.cyclegan import model as model_lib
from jaxgan.families.cyclegan import networks
from jaxgan.train import compilation
from jaxgan.train import images
from jaxgan.train import saved_runs

DIRECTIONS = {'a2b': 'ab', 'b2a': 'ba'}


def output_name(relative: str) -> str:
  """The output file of an input at `relative` (its path under the input folder)."""
  return os.path.splitext(relative)[0] + '.png'


def pad_to_multiple(image: np.ndarray, multiple: int = networks.SIDE_MULTIPLE) -> np.ndarray:
  """(H, W, C) padded at the bottom and right to sides the generator takes.

  Sides become multiples of `multiple`, and at least two of them (the
  residual blocks reflect the smallest feature map). Padding is by
  reflection, or by repeating the edge for an image too small to reflect.
  """
  height, width = image.shape[:2]
  target = lambda side: max(-(-side // multiple) * multiple, 2 * multiple)
  pads = ((0, target(height) - height), (0, target(width) - width), (0, 0))
  fits = all(pad < side for (_, pad), side in zip(pads[:2], (height, width)))
  return np.pad(image, pads, mode='reflect' if fits else 'edge')


def translate_folder(
  workdir: str, *, direction: str, input_dir: str, output_dir: str, progress: bool = True
) -> list[str]:
  """Translates every image under `input_dir` into `output_dir`.

  Args:
    workdir: a CycleGAN run's workdir.
    direction: 'a2b' (G) or 'b2a' (F).
    input_dir: a folder of PNG and JPEG images (searched recursively).
    output_dir: where the PNGs go; it may exist, but must not hold any file
      this would write.
    progress: show a progress bar.

  Returns:
    The paths written.

  Raises:
    ValueError: before anything is written, for a direction, run, input or
      output that cannot be used.
  """
  if direction not in DIRECTIONS:
    raise ValueError(f'--direction={direction!r} must be a2b (G: A -> B) or b2a (F: B -> A).')
  if os.path.abspath(os.path.expanduser(input_dir)) == os.path.abspath(
    os.path.expanduser(output_dir)
  ):
    raise ValueError('--output is the --input folder; write the translations to another folder.')
  run = saved_runs.load_run(workdir)
  model = run.experiment.model
  if not isinstance(model, model_lib.CycleGAN):
    raise ValueError(
      f'{workdir} holds a run of the {run.experiment.config.family!r} family; translate.py '
      'translates with a CycleGAN run.'
    )
  source_shape = model.image_shape_a if direction == 'a2b' else model.image_shape_b
  folder = sources.FolderSource(
    input_dir, with_labels=False, channels=source_shape[2], config_field='--input'
  )
  output = epath.Path(output_dir)
  targets = [output / output_name(name) for name in folder.files]
  taken = [str(path) for path in targets if path.exists()]
  if taken:
    raise ValueError(
      f'--output={output_dir} already holds {taken[0]}'
      + (f' and {len(taken) - 1} more of the files to write' if len(taken) > 1 else '')
      + '; nothing was written. Choose an empty or new folder.'
    )
  generator = DIRECTIONS[direction]
  translate = compilation.jit(lambda state, x: model.translate(state, generator, x))
  written = []
  for index in tqdm.tqdm(range(len(folder)), desc='translating', disable=not progress):
    image = folder[index][data.IMAGE_KEY]
    height, width = image.shape[:2]
    padded = data.to_float(pad_to_multiple(image))[None]
    result = np.asarray(translate(run.state, jnp.asarray(padded)))[0, :height, :width]
    images.save_png(targets[index], images.to_uint8(result))
    written.append(str(targets[index]))
  return written
