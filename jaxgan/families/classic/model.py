"""A classic GAN: one G(z, y), one D(x, y), their optimizers, losses and options."""

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import numpy as np
import optax

from jaxgan import families
from jaxgan.families.classic import sampling
from jaxgan.families.classic import state as state_lib
from jaxgan.families.classic import step as step_lib
from jaxgan.losses import adversarial
from jaxgan.train import images


@dataclasses.dataclass(frozen=True)
class GAN:
  """A generator and discriminator with their optimizers, losses and regularisers.

  Every field past `latent_dim` is an option whose default leaves it out, so
  `GAN(generator, discriminator, g_opt, d_opt, latent_dim)` is the plain GAN
  of Goodfellow et al. 2014 with the non-saturating G loss. It is the
  `families.Model` of the classic family.

  Attributes:
    generator: G, called as `generator(z, labels, train=...)`; built with
      `batch_norm_axis_name=parallel.DATA_AXIS` if it has BatchNorm.
    discriminator: D, called as `discriminator(x, labels, train=...)`;
      likewise. For feature matching it must `sow` its features into
      'intermediates' under the name 'features' (the jaxgan networks do).
    generator_optimizer: G's optax transform.
    discriminator_optimizer: D's optax transform.
    latent_dim: size of z.
    loss: the adversarial loss pair (`adversarial.ADVERSARIAL_LOSSES`).
    num_classes: 0 for an unconditional GAN; else G and D take class labels,
      and batches carry a `label`.
    critic_steps: D updates per G update, each on its own real batch (5 in
      WGAN and WGAN-GP).
    weight_clip: if > 0, D's parameters are clipped to [-c, c] after each of
      its updates (WGAN's Lipschitz constraint).
    gradient_penalty_weight: lambda of WGAN-GP's penalty (0 = off).
    r1_gamma: gamma of the R1 penalty on real data, gamma / 2 E||grad D||^2
      (0 = off).
    feature_matching: one of `step.FEATURE_MATCHING`: 'none'; 'replace':
      G's loss is feature matching alone (Salimans et al. 2016); 'add': G's
      adversarial loss plus feature matching.
    ema_decay: if > 0, an exponential moving average of G's parameters with
      this decay is kept, and samples and metrics come from it.
    generator_reuses_fakes: G's update takes its gradient through the
      fakes of D's update (the same z, labels and forward pass of G), as
      pytorch/examples' DCGAN does, instead of drawing fresh z and running
      G again (Algorithm 1). Needs critic_steps = 1.
    simultaneous_updates: G's gradient goes through D as it was before
      this step's D update, so that both networks step from the same point
      with the gradients of one forward pass (simultaneous gradient descent,
      as ALI's and PacGAN's code train), instead of through the updated D.
      Needs generator_reuses_fakes.
    packing: PacGAN's m: D judges m samples at once (it packs them itself);
      D is initialised with a batch of m.
    generator_passes: G makes each batch of fakes in this many passes,
      each normalised with BatchNorm statistics of its own
      (`step.generate`); with packing = m, m passes put one point of each
      pack in each pass, as PacGAN's code does.
    feature: the key of the real examples in the batch ('image', or
      'point' for 2-D data).
  """

  generator: nn.Module
  discriminator: nn.Module
  generator_optimizer: optax.GradientTransformation
  discriminator_optimizer: optax.GradientTransformation
  latent_dim: int
  loss: adversarial.AdversarialLoss = adversarial.ADVERSARIAL_LOSSES['non_saturating']
  num_classes: int = 0
  critic_steps: int = 1
  weight_clip: float = 0.0
  gradient_penalty_weight: float = 0.0
  r1_gamma: float = 0.0
  feature_matching: str = 'none'
  ema_decay: float = 0.0
  generator_reuses_fakes: bool = False
  simultaneous_updates: bool = False
  packing: int = 1
  generator_passes: int = 1
  feature: str = 'image'

  progress_metrics = ('discriminator_loss', 'generator_loss', 'd_real', 'd_fake')

  @property
  def sampler(self) -> str:
    """What samples and metrics come from, in words."""
    if self.ema_decay:
      return f'moving average of G (decay {self.ema_decay}) with BatchNorm running statistics'
    return 'G with BatchNorm running statistics'

  def init(self, key: jax.Array) -> state_lib.GANState:
    """Both networks and both optimizers at step 0."""
    return state_lib.create_state(
      key,
      generator=self.generator,
      discriminator=self.discriminator,
      generator_optimizer=self.generator_optimizer,
      discriminator_optimizer=self.discriminator_optimizer,
      latent_dim=self.latent_dim,
      num_classes=self.num_classes,
      packing=self.packing,
      ema=self.ema_decay > 0,
    )

  def train_step(
    self, state: state_lib.GANState, batch: families.Batch
  ) -> tuple[state_lib.GANState, families.Metrics]:
    """One D-then-G step, per device (`step.train_step`)."""
    return step_lib.train_step(self, state, batch)

  def state_partition(self, state: state_lib.GANState) -> Any:
    """Every device holds the whole state."""
    return families.replicated(state)

  def sample_inputs(
    self, seed: int, count: int, *, label: int | None = None
  ) -> families.SampleInputs:
    """Fixed z, and for a conditional GAN one row per class (`sampling.grid_inputs`)."""
    return sampling.grid_inputs(seed, count, self.latent_dim, self.num_classes, label)

  def sample(self, state: state_lib.GANState, inputs: dict[str, jax.Array]) -> jax.Array:
    """G(z, labels) in inference mode: BatchNorm's running statistics, the EMA if kept."""
    return self.generator.apply(
      state_lib.sampling_variables(state), inputs['z'], inputs.get('labels'), train=False
    )

  def interpolation_inputs(
    self, seed: int, walks: int, num_keyframes: int, frames_per_keyframe: int
  ) -> families.SampleInputs:
    """Looping spherical walks in z; for a conditional GAN one per class (`sampling`).

    Raises:
      ValueError: for a GAN of 2-D points, whose samples are not pictures.
    """
    if self.feature != 'image':
      raise ValueError(
        f'This run draws {self.feature}s, not images: there is no interpolation to show. '
        'Leave out --mode.'
      )
    return sampling.interpolation_inputs(
      seed, walks, num_keyframes, frames_per_keyframe, self.latent_dim, self.num_classes
    )

  def evaluation_inputs(self, seed: int, count: int) -> tuple[dict, np.ndarray | None]:
    """Fixed z, and every class in turn for a conditional GAN."""
    return sampling.evaluation_inputs(seed, count, self.latent_dim, self.num_classes)

  def draw(self, samples: np.ndarray, columns: int | None) -> np.ndarray:
    """Images tiled into one grid."""
    return images.make_grid(samples, columns=columns)
