"""StyleGAN and StyleGAN2 as one model: state, per-device train step, sampling.

A step follows NVlabs' training loops (`training/loss.py` of NVlabs/stylegan
and NVlabs/stylegan2, `training/loss.py` and `training_loop.py` of
NVlabs/stylegan2-ada-pytorch), D first, then G, as the library's families
do:

* D: the non-saturating logistic loss, softplus(D(G(z))) + softplus(-D(x)),
  plus R1 = gamma / 2 E||grad_x D(x)||^2 on the reals. StyleGAN takes R1 in
  every step's loss; StyleGAN2 lazily: every `r1_interval` steps, R1 times
  the interval gets an optimizer update of its own after the main one, from
  D as that update left it (NVlabs' 'Dreg' phase; the same optimizer and
  state, so Adam counts two updates on those steps). Lazy steps are chosen
  with `lax.cond` on the step number, so the step compiles once and the
  other steps skip the double backward pass.
* G: the non-saturating loss softplus(-D(G(z))), and StyleGAN2's path
  length regulariser, in the same way: in the loss with an interval of 1,
  else an update of its own every `path_length_interval` steps, multiplied
  by the interval (NVlabs' 'Greg').
* Style mixing: with probability `mixing_probability` an example's ws take
  a second z's w from a crossover layer drawn uniformly in [1, num_ws).
* The running mean of w (NVlabs' `dlatent_avg`, the truncation trick's
  centre), updated in each G step from the batch's mapped w, decay 0.995.
* A moving average of G with NVlabs' half-life in images (`ema_beta`); the
  samples and evaluations use it.

Departures: the path length mean and the running mean of w are averaged over
the global batch (NVlabs keeps them per GPU), and the path length batch is
`local_batch // batch_shrink` examples of each device, so that 8 devices
give the 1-device result when the shrink divides the local batch. The
minibatch stddev layer groups each device's own examples, as NVlabs' per-GPU
batches do: with it, a run on more devices differs from a run on one. As in
NVlabs, R1 and the path lengths are the gradients of sums over the batch, so
D's minibatch stddev layer leaks a little of the other examples into each
example's R1 gradient (`penalties` explains why that is exact only for D
without such layers).

Randomness: every draw of a step (each example's z, second z, mixing draw,
crossover, noise and path length noise) comes from a key per example, the
step's key folded with the phase and the example's index in the global
batch (`parallel.example_keys`), so that the result does not depend on how
the batch is split over devices.
"""

import contextlib
import dataclasses
import math
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jaxgan import families
from jaxgan import parallel
from jaxgan.families import latent_walks
from jaxgan.families.stylegan import figures as figures_lib
from jaxgan.families.stylegan import networks
from jaxgan.losses import penalties
from jaxgan.nn import initializers
from jaxgan.train import images

# The name of the stream of real images in a batch.
REAL = 'real'
IMAGE = 'image'
# Phases of a step: their per-example keys are folded from the step's key.
_DISCRIMINATOR_PHASE, _GENERATOR_PHASE, _PATH_LENGTH_PHASE = 0, 1, 2
# Draws of one example, folded into its key.
_Z, _Z_MIX, _MIX_DRAW, _NOISE, _PATH_NOISE = range(5)
# Folded into the run's seed for the inputs of its sample grids.
_GRID_STREAM = 0x5A4D
_NOISE_STREAM = 0x401E
# The lazy regularisers' metrics that the state keeps from their latest step.
LATEST = ('r1_penalty', 'path_length', 'path_length_penalty')
# Samples per block of an evaluation set's z (as the classic family draws them).
EVALUATION_BATCH = 1000


@flax.struct.dataclass
class StyleGANState:
  """Everything a StyleGAN run needs to continue.

  Attributes:
    step: completed train steps, an int32 scalar.
    generator_params: {'mapping': ..., 'synthesis': ...}.
    discriminator_params: D's parameters.
    generator_opt_state: G's optimizer state (mapping and synthesis together).
    discriminator_opt_state: D's optimizer state.
    generator_ema: the moving average of `generator_params`, which samples.
    w_avg: (w_dim,) running mean of the mapped w (NVlabs' `dlatent_avg`).
    path_length_mean: StyleGAN2's running mean of path lengths (`pl_mean`).
    latest: the lazy regularisers' latest values, {'r1_penalty',
      'path_length', 'path_length_penalty'}, reported on every step (the
      loop logs a step's own metrics, and the logged steps need not be
      regularised ones).
    key: the run's base PRNG key (threefry); per-step keys are folded from it.
  """

  step: jax.Array
  generator_params: Any
  discriminator_params: Any
  generator_opt_state: optax.OptState
  discriminator_opt_state: optax.OptState
  generator_ema: Any
  w_avg: jax.Array
  path_length_mean: jax.Array
  latest: dict[str, jax.Array]
  key: jax.Array


def ema_beta(
  step: jax.Array | int, global_batch: int, ema_kimg: float, ema_rampup: float | None = None
) -> jax.Array:
  """The decay of G's moving average at a step: NVlabs' half-life of `ema_kimg` thousand images.

  beta = 0.5 ** (global_batch / ema_nimg), ema_nimg = ema_kimg * 1000, and with
  a ramp-up (StyleGAN2-ADA) ema_nimg = min(ema_nimg, images seen so far *
  ema_rampup), so that the average follows G closely early on (beta 0 at
  step 0).

  Args:
    step: train steps completed before this one.
    global_batch: images per step.
    ema_kimg: the half-life, in thousands of images.
    ema_rampup: None, or the ramp-up's fraction of the images seen.
  """
  ema_nimg = jnp.float32(ema_kimg * 1000)
  if ema_rampup is not None:
    seen = jnp.asarray(step, jnp.float32) * global_batch
    ema_nimg = jnp.minimum(ema_nimg, seen * ema_rampup)
  return jnp.float32(0.5) ** (global_batch / jnp.maximum(ema_nimg, 1e-8))


def lerp(a: Any, b: Any, t: Any) -> Any:
  """a + t (b - a), NVlabs' `lerp`."""
  return a + t * (b - a)


def path_lengths(synthesize: Any, ws: jax.Array, pl_noise: jax.Array) -> jax.Array:
  """StyleGAN2's path lengths: per example, |J_w^T y| for y = pl_noise.

  The gradient of sum(images * pl_noise) with respect to ws, squared, summed
  over w_dim, averaged over the layers, square-rooted (NVlabs'
  `pl_grads.square().sum(2).mean(1).sqrt()`).

  Args:
    synthesize: ws -> images; each example's image depends on its own ws only.
    ws: (B, num_ws, w_dim).
    pl_noise: images' shape, randn / sqrt(H W).

  Returns:
    (B,).
  """
  grads = jax.grad(lambda w: jnp.sum(synthesize(w) * pl_noise))(ws)
  return jnp.sqrt(jnp.mean(jnp.sum(jnp.square(grads), axis=2), axis=1))


@dataclasses.dataclass(frozen=True)
class StyleGAN:
  """StyleGAN or StyleGAN2 of given networks, optimizers and regularisers: a `families.Model`.

  Attributes:
    mapping: z -> w (`networks.MappingNetwork`).
    synthesis: ws -> images (`networks.SynthesisNetwork`).
    discriminator: images -> logits (`networks.Discriminator`).
    generator_optimizer: one optax transform over mapping and synthesis
      (with lazy regularisation, built with NVlabs' scaled lr and betas).
    discriminator_optimizer: D's.
    image_shape: (H, W, C) of the images.
    global_batch: examples per step, over all devices.
    r1_gamma: R1's gamma (0: off).
    r1_interval: R1 every this many steps (1: every step), its weight times
      the interval.
    path_length_weight: the path length penalty's weight (0: off).
    path_length_interval: the penalty every this many steps, times the interval.
    path_length_decay: the path length mean's lerp rate (0.01).
    path_length_batch_shrink: the penalty takes local_batch // this examples.
    mixing_probability: probability of style mixing per example.
    w_avg_decay: the running mean of w's decay (0.995).
    ema_kimg: half-life of G's moving average, in thousands of images.
    ema_rampup: None, or StyleGAN2-ADA's ramp-up (0.05).
    truncation_psi: psi of samples and evaluations (1: none), unless their
      inputs carry one.
    truncation_cutoff: layers from this one on are not truncated; None:
      all are.
  """

  mapping: networks.MappingNetwork
  synthesis: networks.SynthesisNetwork
  discriminator: networks.Discriminator
  generator_optimizer: optax.GradientTransformation
  discriminator_optimizer: optax.GradientTransformation
  image_shape: tuple[int, int, int]
  global_batch: int = 1
  r1_gamma: float = 10.0
  r1_interval: int = 1
  path_length_weight: float = 0.0
  path_length_interval: int = 4
  path_length_decay: float = 0.01
  path_length_batch_shrink: int = 2
  mixing_probability: float = 0.9
  w_avg_decay: float = 0.995
  ema_kimg: float = 10.0
  ema_rampup: float | None = None
  truncation_psi: float = 1.0
  truncation_cutoff: int | None = None

  progress_metrics = ('discriminator_loss', 'generator_loss', 'r1_penalty', 'path_length')

  @property
  def sampler(self) -> str:
    """What samples and metrics come from, in words."""
    rampup = f', ramp-up {self.ema_rampup}' if self.ema_rampup is not None else ''
    truncation = (
      f', truncation psi {self.truncation_psi}' if self.truncation_psi != 1 else ', no truncation'
    )
    return f'moving average of G (half-life {self.ema_kimg} kimg{rampup}){truncation}'

  @property
  def num_ws(self) -> int:
    return self.synthesis.num_ws

  # -------------------------------------------------------------------------
  # State.

  def init(self, key: jax.Array) -> StyleGANState:
    """The networks (equalised-lr init), both optimizers, w_avg 0, path length mean 0.

    Drawn with threefry's classic form, as CycleGAN's init, which XLA:CPU
    compiles much faster; nothing here lands on a sharded array.
    """
    classic_threefry = getattr(jax, 'threefry_partitionable', None)
    with contextlib.nullcontext() if classic_threefry is None else classic_threefry(False):
      return self._init(key)

  def _init(self, key: jax.Array) -> StyleGANState:
    keys = jax.random.split(key, 4)
    z = jnp.zeros((1, self.mapping.z_dim), jnp.float32)
    ws = jnp.zeros((1, self.num_ws, self.mapping.w_dim), jnp.float32)
    generator_params = {
      'mapping': self.mapping.init(keys[0], z)['params'],
      'synthesis': self.synthesis.init(keys[1], ws, None)['params'],
    }
    images_ = jnp.zeros((1, *self.image_shape), jnp.float32)
    discriminator_params = self.discriminator.init(keys[2], images_)['params']
    return StyleGANState(
      step=jnp.zeros((), jnp.int32),
      generator_params=generator_params,
      discriminator_params=discriminator_params,
      generator_opt_state=self.generator_optimizer.init(generator_params),
      discriminator_opt_state=self.discriminator_optimizer.init(discriminator_params),
      generator_ema=jax.tree.map(jnp.copy, generator_params),
      w_avg=jnp.zeros((self.mapping.w_dim,), jnp.float32),
      path_length_mean=jnp.zeros((), jnp.float32),
      latest={name: jnp.zeros((), jnp.float32) for name in LATEST},
      key=keys[3],
    )

  def state_partition(self, state: StyleGANState) -> Any:
    """Every device holds the whole state."""
    return families.replicated(state)

  # -------------------------------------------------------------------------
  # Pure helpers: the generator in pieces.

  def mapped_ws(self, params: Any, z: jax.Array) -> jax.Array:
    """z (B, z_dim) -> ws (B, num_ws, w_dim): the mapping network's w for every layer."""
    w = self.mapping.apply({'params': params['mapping']}, z)
    return networks.broadcast_ws(w, self.num_ws)

  def mixed_ws(
    self, params: Any, z: jax.Array, z_other: jax.Array, crossover: jax.Array
  ) -> jax.Array:
    """Style mixing: z's ws, and z_other's from each example's crossover layer on."""
    return networks.mix_styles(
      self.mapped_ws(params, z), self.mapped_ws(params, z_other), crossover
    )

  def synthesize(self, params: Any, ws: jax.Array, noise_keys: jax.Array | None) -> jax.Array:
    """ws -> images, with each example's noise drawn from its key (None: no noise)."""
    return self.synthesis.apply({'params': params['synthesis']}, ws, noise_keys)

  def judge(self, params: Any, images_: jax.Array) -> jax.Array:
    """D's logits (B,)."""
    return self.discriminator.apply({'params': params}, images_)

  # -------------------------------------------------------------------------
  # Training.

  def _draw_ws(self, params: Any, keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Each example's ws (style mixed with its probability) and unmixed w, from its key.

    The crossover is drawn as 1 + floor(u (num_ws - 1)) for u ~ U[0, 1), uniform
    on [1, num_ws) as NVlabs' randint, and both z go through the mapping
    network in one pass (it treats each example alone): XLA:CPU compiles
    this in half the time of `jax.random.randint` and two passes.
    """
    draw = lambda stream: jax.vmap(
      lambda k: jax.random.normal(jax.random.fold_in(k, stream), (self.mapping.z_dim,))
    )(keys)
    if not (self.mixing_probability > 0 and self.num_ws > 1):
      w = self.mapping.apply({'params': params['mapping']}, draw(_Z))
      return networks.broadcast_ws(w, self.num_ws), w
    both = self.mapping.apply(
      {'params': params['mapping']}, jnp.concatenate([draw(_Z), draw(_Z_MIX)])
    )
    w, w_other = jnp.split(both, 2)
    mix, cut = jax.vmap(lambda k: jax.random.uniform(jax.random.fold_in(k, _MIX_DRAW), (2,)))(
      keys
    ).T
    cut = jnp.minimum(1 + jnp.floor(cut * (self.num_ws - 1)).astype(jnp.int32), self.num_ws - 1)
    crossover = jnp.where(mix < self.mixing_probability, cut, self.num_ws)
    ws = networks.mix_styles(
      networks.broadcast_ws(w, self.num_ws), networks.broadcast_ws(w_other, self.num_ws), crossover
    )
    return ws, w

  def _noise_keys(self, keys: jax.Array) -> jax.Array:
    return jax.vmap(lambda k: jax.random.fold_in(k, _NOISE))(keys)

  def _generate(self, params: Any, keys: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(images, ws, unmixed w) for per-example keys."""
    ws, w = self._draw_ws(params, keys)
    return self.synthesize(params, ws, self._noise_keys(keys)), ws, w

  def _update(
    self, optimizer: optax.GradientTransformation, objective: Any, params: Any, opt_state: Any
  ) -> tuple[Any, Any, Any, Any]:
    """One optimizer update on `objective` (params -> (loss, aux)), gradients averaged over devices.

    Returns:
      (params, opt_state, aux, the averaged gradients).
    """
    (_, aux), grads = jax.value_and_grad(objective, has_aux=True)(params)
    grads = lax.pmean(grads, parallel.DATA_AXIS)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, aux, grads

  def _lazy_update(
    self,
    due: jax.Array,
    optimizer: optax.GradientTransformation,
    objective: Any,
    params: Any,
    opt_state: Any,
    skipped: Any,
  ) -> tuple[Any, Any, Any]:
    """`_update` where `due`; elsewhere params and opt_state unchanged and `skipped` as aux.

    `lax.cond`, not a select: the steps without the regulariser skip its
    (double backward) pass.
    """

    def update(operand):
      new_params, new_opt_state, aux, _ = self._update(optimizer, objective, *operand)
      return new_params, new_opt_state, aux

    return lax.cond(due, update, lambda operand: (*operand, skipped), (params, opt_state))

  def train_step(
    self, state: StyleGANState, batch: families.Batch
  ) -> tuple[StyleGANState, families.Metrics]:
    """D on reals and fakes (R1, lazily), then G (path length, lazily); per device.

    Args:
      state: the replicated state.
      batch: `batch['real']['image']` of shape (1, local_batch, H, W, C) in [-1, 1].

    Returns:
      The new state, and metrics averaged over the global batch.
      'r1_penalty', 'path_length' and 'path_length_penalty' are the
      latest regularised step's; 'r1_term' and 'path_length_term', the
      regularisers' weighted terms that this step minimised, in the loss or
      in an update of their own (0 on steps without them).
    """
    reals = batch[REAL][IMAGE][0]
    local_batch = reals.shape[0]
    first_example = parallel.first_example(local_batch)
    step_key = jax.random.fold_in(state.key, state.step)
    phase_keys = lambda phase, count, first: parallel.example_keys(
      jax.random.fold_in(step_key, phase), first_example=first, batch_size=count
    )
    axis = parallel.DATA_AXIS
    # What a lazy regulariser's metrics are on the steps that skip it.
    zero = jnp.zeros((), jnp.float32)

    # D: fakes of G as it stands.
    fakes, _, _ = self._generate(
      state.generator_params, phase_keys(_DISCRIMINATOR_PHASE, local_batch, first_example)
    )
    fakes = lax.stop_gradient(fakes)
    r1_weight = self.r1_gamma / 2 * self.r1_interval
    r1_due = state.step % self.r1_interval == 0
    lazy_r1 = bool(self.r1_gamma) and self.r1_interval > 1

    def r1_terms(params):
      r1 = penalties.r1_penalty(lambda x: self.judge(params, x), reals)
      return {'r1_penalty': r1, 'r1_term': r1_weight * r1}

    def discriminator_objective(params):
      real_out, fake_out = self.judge(params, reals), self.judge(params, fakes)
      loss = jnp.mean(jax.nn.softplus(fake_out)) + jnp.mean(jax.nn.softplus(-real_out))
      terms = {
        'discriminator_loss': loss,
        'd_real': jnp.mean(jax.nn.sigmoid(real_out)),
        'd_fake': jnp.mean(jax.nn.sigmoid(fake_out)),
      }
      if self.r1_gamma and not lazy_r1:
        terms.update(r1_terms(params))
        loss = loss + terms['r1_term']
      return loss, terms

    discriminator_params, discriminator_opt_state, discriminator_terms, discriminator_grads = (
      self._update(
        self.discriminator_optimizer,
        discriminator_objective,
        state.discriminator_params,
        state.discriminator_opt_state,
      )
    )
    if lazy_r1:
      # NVlabs' 'Dreg': R1 alone, from D as the main update left it.
      def r1_objective(params):
        terms = r1_terms(params)
        return terms['r1_term'], terms

      discriminator_params, discriminator_opt_state, terms = self._lazy_update(
        r1_due,
        self.discriminator_optimizer,
        r1_objective,
        discriminator_params,
        discriminator_opt_state,
        skipped={'r1_penalty': zero, 'r1_term': zero},
      )
      discriminator_terms.update(terms)

    # G: through the D just updated.
    generator_keys = phase_keys(_GENERATOR_PHASE, local_batch, first_example)
    pl_batch = max(local_batch // self.path_length_batch_shrink, 1)
    pl_keys = phase_keys(_PATH_LENGTH_PHASE, pl_batch, parallel.first_example(pl_batch))
    pl_due = state.step % self.path_length_interval == 0
    path_length = self.path_length_weight > 0
    lazy_path_length = path_length and self.path_length_interval > 1

    def path_length_terms(params):
      """The penalty's terms, and the path length mean it moved (no gradient through it)."""
      ws, _ = self._draw_ws(params, pl_keys)
      noise_keys = self._noise_keys(pl_keys)
      height, width = self.image_shape[:2]
      pl_noise = jax.vmap(
        lambda k: initializers.normal(jax.random.fold_in(k, _PATH_NOISE), self.image_shape)
      )(pl_keys) / math.sqrt(height * width)
      lengths = path_lengths(lambda w: self.synthesize(params, w, noise_keys), ws, pl_noise)
      mean_length = lax.pmean(jnp.mean(lengths), axis)
      # NVlabs lets the penalty's gradient run through the updated mean too.
      mean = lerp(state.path_length_mean, mean_length, self.path_length_decay)
      penalty = lax.pmean(jnp.mean(jnp.square(lengths - mean)), axis)
      terms = {
        'path_length': mean_length,
        'path_length_penalty': penalty,
        'path_length_term': penalty * self.path_length_weight * self.path_length_interval,
      }
      return terms, lax.stop_gradient(mean)

    def generator_objective(params):
      fake, _, w = self._generate(params, generator_keys)
      loss = jnp.mean(jax.nn.softplus(-self.judge(discriminator_params, fake)))
      terms = {'generator_loss': loss}
      pl_mean = state.path_length_mean
      if path_length and not lazy_path_length:
        pl_terms, pl_mean = path_length_terms(params)
        terms.update(pl_terms)
        loss = loss + terms['path_length_term']
      return loss, (terms, lax.stop_gradient(w), pl_mean)

    generator_params, generator_opt_state, (generator_terms, w, pl_mean), generator_grads = (
      self._update(
        self.generator_optimizer,
        generator_objective,
        state.generator_params,
        state.generator_opt_state,
      )
    )
    if lazy_path_length:
      # NVlabs' 'Greg': the penalty alone, from G as the main update left it.
      def path_length_objective(params):
        terms, mean = path_length_terms(params)
        return terms['path_length_term'], (terms, mean)

      generator_params, generator_opt_state, (terms, pl_mean) = self._lazy_update(
        pl_due,
        self.generator_optimizer,
        path_length_objective,
        generator_params,
        generator_opt_state,
        skipped=(
          {'path_length': zero, 'path_length_penalty': zero, 'path_length_term': zero},
          state.path_length_mean,
        ),
      )
      generator_terms.update(terms)

    # The running mean of w moves toward the global batch's mean w.
    w_avg = lerp(lax.pmean(jnp.mean(w, axis=0), axis), state.w_avg, self.w_avg_decay)
    beta = ema_beta(state.step, self.global_batch, self.ema_kimg, self.ema_rampup)
    generator_ema = jax.tree.map(
      lambda p, e: lerp(p, e, beta), generator_params, state.generator_ema
    )

    metrics = lax.pmean({**discriminator_terms, **generator_terms}, axis)
    due = {'r1_penalty': r1_due, 'path_length': pl_due, 'path_length_penalty': pl_due}
    latest = {
      name: jnp.where(due[name], metrics[name], state.latest[name])
      if name in metrics
      else state.latest[name]
      for name in LATEST
    }
    metrics.update(latest)
    new_state = state.replace(
      step=state.step + 1,
      generator_params=generator_params,
      discriminator_params=discriminator_params,
      generator_opt_state=generator_opt_state,
      discriminator_opt_state=discriminator_opt_state,
      generator_ema=generator_ema,
      w_avg=w_avg,
      path_length_mean=pl_mean,
      latest=latest,
    )
    metrics['path_length_mean'] = pl_mean
    metrics['w_avg_norm'] = jnp.linalg.norm(w_avg)
    metrics['ema_beta'] = beta
    metrics['discriminator_grad_norm'] = optax.tree.norm(discriminator_grads)
    metrics['generator_grad_norm'] = optax.tree.norm(generator_grads)
    return new_state, metrics

  # -------------------------------------------------------------------------
  # Sampling and evaluation.

  def sample_inputs(
    self, seed: int, count: int, *, label: int | None = None
  ) -> families.SampleInputs:
    """Fixed z and noise keys, the same for every grid of a run.

    Raises:
      ValueError: for a `label`: StyleGAN here is unconditional.
    """
    if label is not None:
      raise ValueError(
        f'This run holds an unconditional StyleGAN: it cannot draw class {label}. Leave out '
        '--label.'
      )
    key = jax.random.fold_in(jax.random.key(seed), _GRID_STREAM)
    return families.SampleInputs(
      {
        'z': jax.random.normal(key, (count, self.mapping.z_dim)),
        'noise_keys': networks.noise_key_data(jax.random.fold_in(key, _NOISE_STREAM), 0, count),
      }
    )

  def sample(self, state: StyleGANState, inputs: dict[str, jax.Array]) -> jax.Array:
    """Images of the moving average of G, truncated toward w_avg.

    Args:
      state: the run's state.
      inputs: 'z' (B, z_dim) and optionally:
        'noise_keys' (B, 2) uint32 threefry key data (absent: no noise);
        'psi' (B,) (absent: the model's `truncation_psi`);
        'z_end' (B, z_dim) and 't' (B,): w is (1 - t) w(z) + t w(z_end),
          a straight line in W (interpolation videos);
        'mix_z' (B, z_dim) and 'mix_layers' (B, num_ws) bool: the layers
          marked take their w from mix_z (the style mixing figure).
    """
    params = state.generator_ema
    ws = self.mapped_ws(params, inputs['z'])
    if 'z_end' in inputs:
      ws = lerp(ws, self.mapped_ws(params, inputs['z_end']), inputs['t'][:, None, None])
    if 'mix_z' in inputs:
      ws = jnp.where(inputs['mix_layers'][:, :, None], self.mapped_ws(params, inputs['mix_z']), ws)
    psi = jnp.asarray(inputs.get('psi', self.truncation_psi), jnp.float32)
    if psi.ndim == 1:
      psi = psi[:, None, None]
    ws = networks.truncate(ws, state.w_avg, psi, self.truncation_cutoff)
    noise_keys = inputs.get('noise_keys')
    if noise_keys is not None:
      noise_keys = jax.random.wrap_key_data(noise_keys, impl='threefry2x32')
    return self.synthesize(params, ws, noise_keys)

  def interpolation_inputs(
    self, seed: int, walks: int, num_keyframes: int, frames_per_keyframe: int
  ) -> families.SampleInputs:
    """Looping walks along straight lines in W between keyframes' w, walk by walk.

    StyleGAN's W is where the paper measures perceptual path length along
    straight lines (lerp in W, slerp in Z); each walk keeps one noise draw,
    so that only the style moves.
    """
    keyframes = latent_walks.keyframe_latents(seed, walks, num_keyframes, self.mapping.z_dim)
    start, end, t = latent_walks.keyframe_positions(num_keyframes, frames_per_keyframe)
    frames = len(t)
    noise = networks.noise_key_data(
      jax.random.fold_in(jax.random.key(seed), _NOISE_STREAM), 0, walks
    )
    return families.SampleInputs(
      {
        'z': keyframes[:, start].reshape(-1, self.mapping.z_dim),
        'z_end': keyframes[:, end].reshape(-1, self.mapping.z_dim),
        't': np.tile(t, walks).astype(np.float32),
        'noise_keys': np.repeat(noise, frames, axis=0),
      },
      frames,
    )

  # What `figure` draws besides grids and interpolations (sample.py --mode).
  figures = ('mixing', 'truncation')

  def figure(self, name: str, draw: figures_lib.Draw, seed: int) -> tuple[np.ndarray, int]:
    """One of `figures` as (images in [-1, 1], images per row), drawn through `draw`.

    'mixing': the paper's style mixing figure (`figures_lib.style_mixing`);
    'truncation': a sweep of psi from 1 to -1 (`figures_lib.truncation_sweep`).
    """
    if name == 'mixing':
      return figures_lib.style_mixing(self, draw, seed), figures_lib.MIXING_COLUMNS + 1
    if name == 'truncation':
      return figures_lib.truncation_sweep(self, draw, seed), len(figures_lib.TRUNCATION_PSIS)
    raise ValueError(f'StyleGAN draws the figures {self.figures}, not {name!r}.')

  def evaluation_inputs(self, seed: int, count: int) -> tuple[dict, None]:
    """z in blocks of `EVALUATION_BATCH`, as the classic family's, and a noise key each.

    A larger set extends a smaller one: sample i's noise key is the seed's
    noise key folded with i.
    """
    key = jax.random.key(seed)
    blocks = []
    for index, start in enumerate(range(0, count, EVALUATION_BATCH)):
      size = min(EVALUATION_BATCH, count - start)
      blocks.append(
        np.asarray(jax.random.normal(jax.random.fold_in(key, index), (size, self.mapping.z_dim)))
      )
    noise = networks.noise_key_data(jax.random.fold_in(key, _NOISE_STREAM), 0, count)
    return {'z': np.concatenate(blocks), 'noise_keys': noise}, None

  def draw(self, samples: np.ndarray, columns: int | None) -> np.ndarray:
    """Images tiled into one grid."""
    return images.make_grid(samples, columns=columns)
