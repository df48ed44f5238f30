"""The toy 2-D family: PacGAN's MLPs on 2-D Gaussian mixtures (the mode-collapse benchmark).

G maps 2-D noise to points, D judges points (`networks`); they train with
the classic family's step and options (loss, critic steps, penalties,
packing, minibatch discrimination, feature matching), so a 2-D run is the
classic GAN on other networks and other data. Its sample grids are scatter
plots over the mixture, and its evaluations count the modes it covers
(`jaxgan.eval.mode_coverage`). Configs: benchmarks/configs/gan_2d.py and
the variants that import it; `benchmarks/mode_collapse_2d.py` runs them.
"""

import dataclasses

import ml_collections
import numpy as np

from jaxgan import data
from jaxgan import families
from jaxgan import parallel
from jaxgan.families import classic
from jaxgan.families.classic import model as classic_model
from jaxgan.families.classic import options
from jaxgan.families.classic import step
from jaxgan.families.toy2d import networks
from jaxgan.families.toy2d import plot

# Real points drawn behind the samples in the scatter plots.
_PLOTTED_REAL_POINTS = 2_500


@dataclasses.dataclass(frozen=True)
class PointGAN(classic_model.GAN):
  """The classic GAN on 2-D points, drawn as scatter plots.

  Attributes:
    modes: (K, 2) centres of the mixture the data come from, for the plots.
    real_points: points of the data, drawn in grey behind the samples.
  """

  # Arrays are neither hashable nor comparable: left out of both.
  modes: np.ndarray | None = dataclasses.field(default=None, compare=False)
  real_points: np.ndarray | None = dataclasses.field(default=None, compare=False)

  def draw(self, samples: np.ndarray, columns: int | None) -> np.ndarray:
    """A scatter plot of the samples over the data and the mixture's modes."""
    del columns  # Points have no grid.
    extent = 1.5 * float(np.max(np.abs(self.modes))) if self.modes is not None else 2.0
    return plot.scatter_image(samples, extent=extent, real=self.real_points, modes=self.modes)


def check_config(config: ml_collections.ConfigDict, *, device_count: int) -> None:
  """Refuses step options that cannot work (`classic.options.check_step_options`)."""
  options.check_step_options(config, local_batch=config.batch_size // device_count)


def data_streams(config: ml_collections.ConfigDict) -> dict[str, families.DataStream]:
  """One stream of real points, one batch per critic step."""
  return {
    step.REAL: families.DataStream(
      spec=data.DataSpec.from_config(config.data), batches_per_step=config.critic_steps
    )
  }


def build(config: ml_collections.ConfigDict, datasets: dict[str, data.DatasetInfo]) -> PointGAN:
  """PacGAN's 2-D networks with the classic step's options.

  Raises:
    ValueError: if the data are not 2-D points.
  """
  info = datasets[step.REAL]
  if info.feature != 'point':
    raise ValueError(
      f'config.data.source = {config.data.source!r} holds {info.feature}s; the toy2d family '
      f'trains on 2-D points ({", ".join(map(repr, data.mixtures.MIXTURES))}).'
    )
  generator = networks.PointGenerator(
    hidden_features=tuple(config.generator_hidden),
    output_dim=info.shape[-1],
    batch_norm_axis_name=parallel.DATA_AXIS,
    batch_norm_momentum=config.batch_norm_momentum,
    init_stddev=config.init_stddev,
  )
  discriminator = networks.MaxoutDiscriminator(
    hidden_features=tuple(config.discriminator_hidden),
    num_pieces=config.maxout_pieces,
    init_stddev=config.init_stddev,
    minibatch_discrimination=config.minibatch_discrimination,
    minibatch_discrimination_dim=config.minibatch_discrimination_dim,
    packing=config.packing,
  )
  modes = real_points = None
  if info.source in data.mixtures.MIXTURES:
    mixture = data.mixtures.MIXTURES[info.source]
    modes = mixture.modes
    # The first points of the training set, as the benchmark has plotted them.
    real_points = data.mixtures.training_points(info.source)[:_PLOTTED_REAL_POINTS]
  return PointGAN(
    generator=generator,
    discriminator=discriminator,
    feature='point',
    modes=modes,
    real_points=real_points,
    **classic.step_options(config),
  )
