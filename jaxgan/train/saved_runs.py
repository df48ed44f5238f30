"""Using a run after (or while) it trains: evaluate, sample or animate its latest checkpoint.

`evaluate.py` and `sample.py` call these. A run is read back from its
workdir alone: its config.json says what it is, its latest good checkpoint
holds the state. They run on one device of this process.
"""

import dataclasses
import io
from typing import Any

from etils import epath
import jax
import ml_collections
import numpy as np

from jaxgan import eval as eval_lib
from jaxgan import parallel
from jaxgan.train import checkpointing
from jaxgan.train import compilation
from jaxgan.train import evaluation
from jaxgan.train import experiment as experiment_lib
from jaxgan.train import images
from jaxgan.train import steps
from jaxgan.train import workdir as workdir_lib


@dataclasses.dataclass(frozen=True)
class SavedRun:
  """A run read back from its workdir.

  Attributes:
    experiment: its config resolved (family, data, model) on one device.
    workdir: its workdir.
    state: the latest good checkpoint's state.
    step: that checkpoint's step.
    checkpoint: the path of that checkpoint.
  """

  experiment: experiment_lib.Experiment
  workdir: workdir_lib.Workdir
  state: Any
  step: int
  checkpoint: str


def load_run(workdir: str) -> SavedRun:
  """Reads a workdir's config and restores its latest good checkpoint.

  Raises:
    ValueError: if the workdir holds no run or no checkpoint, or a run that
      this version of jaxgan cannot read.
  """
  workdir = workdir_lib.Workdir(workdir)
  saved = workdir.read_config()
  if saved is None:
    raise ValueError(
      f'{workdir.path} holds no config.json: it is not a workdir that train.py wrote. '
      'Pass the --workdir of a run.'
    )
  if 'family' not in saved:
    raise ValueError(
      f'{workdir.config} was written by a version of jaxgan before families existed; this '
      'version cannot read that run. Train it again, or use the version that made it.'
    )
  config = ml_collections.ConfigDict(saved)
  mesh = parallel.make_data_mesh(jax.local_devices()[:1])
  experiment = experiment_lib.prepare(config, mesh=mesh)
  if not workdir.checkpoints.exists():
    raise ValueError(f'{workdir.checkpoints} holds no checkpoint to read.')
  # Read-only: evaluating or sampling a run never moves or writes its checkpoints.
  checkpointer = checkpointing.Checkpointer(
    workdir.checkpoints, max_to_keep=config.keep_checkpoints, read_only=True
  )
  try:
    restored = checkpointer.restore_latest(experiment.abstract_state)
  finally:
    checkpointer.close()
  if restored is None:
    raise ValueError(f'{workdir.checkpoints} holds no checkpoint to read.')
  state = restored[0]
  step = steps.step_of(state)
  return SavedRun(experiment, workdir, state, step, str(workdir.checkpoints / str(step)))


def evaluate_checkpoint(workdir: str, *, num_samples: int | None = None) -> dict:
  """Evaluates the latest checkpoint of a run and writes its metrics.json.

  Args:
    workdir: the run's workdir (it holds config.json and checkpoints/).
    num_samples: samples to draw; default the run's `config.eval_samples`.

  Returns:
    {'metrics': ..., 'real_vs_real': ...}.

  Raises:
    ValueError: if the workdir holds no run, or no evaluator measures its data.
  """
  if num_samples is not None and num_samples < 1:
    raise ValueError(f'--num_samples={num_samples} must be at least 1.')
  run = load_run(workdir)
  experiment = run.experiment
  stream = getattr(experiment.model, 'evaluation_stream', next(iter(experiment.streams)))
  info = experiment.datasets[stream]
  eval_lib.check_evaluable(info, field='--num_samples')
  num_samples = num_samples if num_samples is not None else experiment.config.eval_samples
  evaluator = eval_lib.make_evaluator(info, data_dir=experiment.streams[stream].spec.data_dir)
  report = evaluation.evaluate(
    experiment.model,
    run.state,
    compilation.jit(experiment.model.sample),
    experiment.mesh,
    evaluator,
    num_samples=num_samples,
    seed=experiment.config.seed + 1,
  )
  if jax.process_index() == 0:
    evaluation.write_report(
      run.workdir,
      step=run.step,
      checkpoint=run.checkpoint,
      num_samples=num_samples,
      results=report['metrics'],
      floor=report['real_vs_real'],
      sampler=experiment.model.sampler,
      evaluator=evaluator,
    )
  return report


def sample_checkpoint(
  workdir: str, *, output: str, label: int | None = None, num_samples: int = 64, seed: int = 0
) -> str:
  """Draws a grid of samples from the latest checkpoint of a run into a PNG.

  Args:
    workdir: the run's workdir.
    output: path of the PNG to write.
    label: for a conditional GAN, the class to draw; None draws what the
      run's own sample grids draw (one row per class).
    num_samples: samples in the grid.
    seed: seed of the noise.

  Returns:
    `output`.

  Raises:
    ValueError: for a label the run cannot draw.
  """
  if num_samples < 1:
    raise ValueError(f'--num_samples={num_samples} must be at least 1.')
  run = load_run(workdir)
  model, mesh = run.experiment.model, run.experiment.mesh
  grid = model.sample_inputs(seed, num_samples, label=label)
  samples = steps.to_host(
    compilation.jit(model.sample)(run.state, steps.replicate(mesh, grid.inputs))
  )
  images.save_png(output, model.draw(samples, grid.columns))
  return output


def _draw(run: SavedRun) -> Any:
  """inputs -> the run's samples on the host (`evaluation.sample_in_batches`)."""
  sample = compilation.jit(run.experiment.model.sample)
  return lambda inputs: evaluation.sample_in_batches(sample, run.state, run.experiment.mesh, inputs)


def export_samples(workdir: str, *, output: str, num_samples: int, seed: int = 0) -> str:
  """Writes samples of the latest checkpoint as an .npz for other evaluation tools.

  The arrays: 'images', uint8 (N, H, W, C); for a conditional GAN also
  'labels', the class asked of each sample (every class in turn). The
  samples are an evaluation set's (`Model.evaluation_inputs`), so
  `--seed=S` gives what an evaluation with seed S measures.

  Returns:
    `output`.
  """
  if num_samples < 1:
    raise ValueError(f'--num_samples={num_samples} must be at least 1.')
  run = load_run(workdir)
  model = run.experiment.model
  inputs, labels = model.evaluation_inputs(seed, num_samples)
  arrays = {'images': images.to_uint8(_draw(run)(inputs))}
  if labels is not None:
    arrays['labels'] = np.asarray(labels, np.int32)
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  workdir_lib.write_bytes(epath.Path(output), buffer.getvalue())
  return output


def interpolate_checkpoint(
  workdir: str,
  *,
  output: str,
  seed: int = 0,
  walks: int = 4,
  num_keyframes: int = 4,
  frames_per_keyframe: int = 12,
  fps: float = 12.0,
) -> tuple[str, str]:
  """Animates looping walks through the latent space of a run's latest checkpoint.

  Writes `output` (an animated GIF: each frame shows every walk at that
  point) and the same path with .png (the frames as a strip: one row per
  walk). How a family walks (spherically in z, linearly in StyleGAN's w,
  one walk per class for a conditional GAN) is its `interpolation_inputs`.

  Returns:
    (the GIF's path, the strip's path).

  Raises:
    ValueError: for a family with no latent to walk, or a walk too short.
  """
  if fps <= 0:
    raise ValueError(f'--fps={fps} must be positive.')
  if epath.Path(output).suffix != '.gif':
    raise ValueError(
      f'--output={output}: an interpolation is an animated GIF; end the path in .gif (its '
      'frames are written beside it, in .png).'
    )
  run = load_run(workdir)
  model = run.experiment.model
  if not hasattr(model, 'interpolation_inputs'):
    raise ValueError(
      f'{workdir} holds a {run.experiment.config.family!r} run, which maps no latent to '
      'images: there is nothing to interpolate. Leave out --mode.'
    )
  walk = model.interpolation_inputs(seed, walks, num_keyframes, frames_per_keyframe)
  samples = _draw(run)(walk.inputs)
  frames = walk.columns
  strip = str(epath.Path(output).with_suffix('.png'))
  images.save_png(strip, model.draw(samples, frames))
  rows = len(samples) // frames
  images.save_gif(
    output, [model.draw(samples[f::frames], min(rows, 10)) for f in range(frames)], fps=fps
  )
  return output, strip


def figure_checkpoint(workdir: str, *, figure: str, output: str, seed: int = 0) -> str:
  """Draws one of the figures of a run's family (`Model.figures`, e.g. StyleGAN's 'mixing').

  Returns:
    `output`.

  Raises:
    ValueError: for a figure the run's family does not draw.
  """
  run = load_run(workdir)
  model = run.experiment.model
  figures = getattr(model, 'figures', ())
  if figure not in figures:
    family = run.experiment.config.family
    if figures:
      raise ValueError(
        f'--mode={figure}: {workdir} holds a {family!r} run, whose figures are '
        f'{", ".join(figures)}.'
      )
    raise ValueError(
      f'--mode={figure} draws a figure of StyleGAN runs; {workdir} holds a {family!r} run, '
      'which has none. Leave out --mode for a sample grid.'
    )
  samples, columns = model.figure(figure, _draw(run), seed)
  images.save_png(output, model.draw(samples, columns))
  return output
