"""CycleGAN: two generators, two discriminators, two image pools, one step.

Names follow the paper: G maps domain A to B (`generator_ab`), F maps B to A
(`generator_ba`); `discriminator_a` judges domain A (real a against F(b)),
`discriminator_b` domain B. (The reference code calls G netG_A and F
netG_B, and the discriminator of domain B netD_A.)

A step follows the reference's `optimize_parameters`: one forward pass of
both generators, G and F updated together on the adversarial, cycle and
identity losses through the discriminators as they stand; then D_A and D_B
updated together on real images and on fakes of that same forward pass,
passed through the image pools. (The reference updates G before D; so does
this family.)
"""

import contextlib
import dataclasses
from typing import Any

import flax
import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import data
from jaxgan import families
from jaxgan import parallel
from jaxgan.families.cyclegan import image_pool
from jaxgan.families.cyclegan import losses
from jaxgan.families.cyclegan import test_sets
from jaxgan.train import images

# The batch's streams: one per domain.
A, B = 'a', 'b'
IMAGE = 'image'
# Keys of the inputs `CycleGAN.sample` takes: both domains' test images for a
# sample grid, or one domain's images to translate (an evaluation).
GRID_INPUTS = (A, B)
TRANSLATE_AB, TRANSLATE_BA = 'a_to_b', 'b_to_a'
# Images per row of a sample grid: a | G(a) | F(G(a)) | b | F(b) | G(F(b)).
GRID_COLUMNS = 6


@flax.struct.dataclass
class CycleGANState:
  """Everything a CycleGAN run needs to continue.

  Attributes:
    step: completed train steps, an int32 scalar.
    generator_params: {'ab': G's parameters, 'ba': F's}.
    discriminator_params: {'a': D_A's parameters, 'b': D_B's}.
    generator_opt_state: the generators' optimizer state (one optimizer).
    discriminator_opt_state: the discriminators' optimizer state.
    fake_a_pool: past F(b), shown to D_A (`image_pool`); one slot per
      example of the global batch, laid over the devices.
    fake_b_pool: past G(a), shown to D_B.
    key: the run's base PRNG key; per-step keys are folded from it.
  """

  step: jax.Array
  generator_params: Any
  discriminator_params: Any
  generator_opt_state: optax.OptState
  discriminator_opt_state: optax.OptState
  fake_a_pool: image_pool.ImagePool
  fake_b_pool: image_pool.ImagePool
  key: jax.Array


@dataclasses.dataclass(frozen=True)
class CycleGAN:
  """A CycleGAN of given networks, optimizers and loss weights: a `families.Model`.

  Attributes:
    generator_ab: G: A -> B, called as `generator_ab.apply({'params': p}, x)`.
    generator_ba: F: B -> A.
    discriminator_a: D_A: images of A -> a map of patch outputs.
    discriminator_b: D_B.
    generator_optimizer: one optax transform over both generators.
    discriminator_optimizer: one over both discriminators.
    image_shape_a: (H, W, C) of domain A's images.
    image_shape_b: (H, W, C) of domain B's images.
    global_batch: examples of each domain per step, over all devices.
    loss: the adversarial loss's name (`jaxgan.losses.adversarial`).
    cycle_weight_a: the reference's lambda_A, the weight of A's round trip
      |F(G(a)) - a| (and, times `identity_weight`, of |F(a) - a|).
    cycle_weight_b: lambda_B, the weight of |G(F(b)) - b| (and of |G(b) - b|).
    identity_weight: the identity loss's weight as a fraction of lambda
      (the reference's lambda_identity); 0 turns it off.
    pool_size: fakes each image pool holds over the global batch; 0: none.
    test_a: where domain A's test images are (`test_sets.test_spec`): the
      sample grids' inputs.
    test_b: where domain B's are: the grids' inputs, and what evaluations
      translate with F (scored, where they have classes, by a classifier of
      domain A's classes).
  """

  generator_ab: nn.Module
  generator_ba: nn.Module
  discriminator_a: nn.Module
  discriminator_b: nn.Module
  generator_optimizer: optax.GradientTransformation
  discriminator_optimizer: optax.GradientTransformation
  image_shape_a: tuple[int, int, int]
  image_shape_b: tuple[int, int, int]
  global_batch: int = 1
  loss: str = 'least_squares'
  cycle_weight_a: float = 10.0
  cycle_weight_b: float = 10.0
  identity_weight: float = 0.5
  pool_size: int = 50
  test_a: data.DataSpec | None = None
  test_b: data.DataSpec | None = None

  evaluation_stream = A
  sampler = 'F: B -> A (the generator of domain A), on test images of domain B'
  progress_metrics = ('generator_loss', 'discriminator_loss', 'cycle_a', 'cycle_b')

  def init(self, key: jax.Array) -> CycleGANState:
    """The four networks (N(0, 0.02) weights), both optimizers, empty pools.

    Jitted (as the loop runs it), the weights are drawn with threefry's
    classic, non-partitionable form: with the partitionable form, XLA:CPU
    took 28 s instead of 6 s to compile the draws of the smallest test
    networks (the 32x32 preset's init compiles in 7 s this way). No draw
    here lands on a sharded array (the pools start as zeros), so nothing
    needs the partitionable form.
    """
    classic_threefry = getattr(jax, 'threefry_partitionable', None)
    with contextlib.nullcontext() if classic_threefry is None else classic_threefry(False):
      return self._init(key)

  def _init(self, key: jax.Array) -> CycleGANState:
    keys = jax.random.split(key, 5)
    a = jnp.zeros((1, *self.image_shape_a), jnp.float32)
    b = jnp.zeros((1, *self.image_shape_b), jnp.float32)
    generator_params = {
      'ab': self.generator_ab.init(keys[0], a)['params'],
      'ba': self.generator_ba.init(keys[1], b)['params'],
    }
    discriminator_params = {
      'a': self.discriminator_a.init(keys[2], a)['params'],
      'b': self.discriminator_b.init(keys[3], b)['params'],
    }
    slot_size = image_pool.slot_size(self.pool_size, self.global_batch)
    return CycleGANState(
      step=jnp.zeros((), jnp.int32),
      generator_params=generator_params,
      discriminator_params=discriminator_params,
      generator_opt_state=self.generator_optimizer.init(generator_params),
      discriminator_opt_state=self.discriminator_optimizer.init(discriminator_params),
      fake_a_pool=image_pool.create(self.global_batch, slot_size, self.image_shape_a),
      fake_b_pool=image_pool.create(self.global_batch, slot_size, self.image_shape_b),
      key=keys[4],
    )

  def state_partition(self, state: CycleGANState) -> Any:
    """The pools' slots lie with their examples' devices; the rest is replicated."""
    partition = families.replicated(state)
    by_example = lambda pool: jax.tree.map(
      lambda _: jax.sharding.PartitionSpec(parallel.DATA_AXIS), pool
    )
    return partition.replace(
      fake_a_pool=by_example(state.fake_a_pool), fake_b_pool=by_example(state.fake_b_pool)
    )

  # -------------------------------------------------------------------------
  # Training.

  def _generate(self, params: Any, direction: str, images: jax.Array) -> jax.Array:
    generator = self.generator_ab if direction == 'ab' else self.generator_ba
    return generator.apply({'params': params[direction]}, images)

  def _judge(self, params: Any, domain: str, images: jax.Array) -> jax.Array:
    discriminator = self.discriminator_a if domain == A else self.discriminator_b
    return discriminator.apply({'params': params[domain]}, images)

  def train_step(
    self, state: CycleGANState, batch: families.Batch
  ) -> tuple[CycleGANState, families.Metrics]:
    """G and F on their losses, then D_A and D_B on reals and pooled fakes; per device.

    Args:
      state: the state; its pools hold this device's slots.
      batch: `batch['a']['image']` and `batch['b']['image']`, each (1,
        local_batch, H, W, C) in [-1, 1]: unpaired images of the two domains.

    Returns:
      The new state, and the losses averaged over the global batch.
    """
    real_a, real_b = batch[A][IMAGE][0], batch[B][IMAGE][0]
    local_batch = real_a.shape[0]
    identity = self.identity_weight > 0
    step_key = jax.random.fold_in(state.key, state.step)

    def generator_objective(params):
      # Instance normalisation treats each image alone, so images that go
      # through the same generator can share one pass: the identity
      # mappings ride along with the translations.
      fake_b = self._generate(
        params, 'ab', jnp.concatenate([real_a, real_b]) if identity else real_a
      )
      fake_a = self._generate(
        params, 'ba', jnp.concatenate([real_b, real_a]) if identity else real_b
      )
      if identity:
        (fake_b, same_b), (fake_a, same_a) = jnp.split(fake_b, 2), jnp.split(fake_a, 2)
      cycled_a = self._generate(params, 'ba', fake_b)
      cycled_b = self._generate(params, 'ab', fake_a)
      discriminators = state.discriminator_params
      terms = {
        'generator_ab_loss': losses.generator_adversarial_loss(
          self.loss, self._judge(discriminators, B, fake_b)
        ),
        'generator_ba_loss': losses.generator_adversarial_loss(
          self.loss, self._judge(discriminators, A, fake_a)
        ),
        'cycle_a': losses.cycle_consistency_loss(real_a, cycled_a),
        'cycle_b': losses.cycle_consistency_loss(real_b, cycled_b),
      }
      loss = (
        terms['generator_ab_loss']
        + terms['generator_ba_loss']
        + self.cycle_weight_a * terms['cycle_a']
        + self.cycle_weight_b * terms['cycle_b']
      )
      if identity:
        terms['identity_a'] = losses.identity_loss(real_a, same_a)
        terms['identity_b'] = losses.identity_loss(real_b, same_b)
        loss += self.identity_weight * (
          self.cycle_weight_a * terms['identity_a'] + self.cycle_weight_b * terms['identity_b']
        )
      terms['generator_loss'] = loss
      return loss, (fake_a, fake_b, terms)

    (_, (fake_a, fake_b, generator_terms)), generator_grads = jax.value_and_grad(
      generator_objective, has_aux=True
    )(state.generator_params)
    generator_grads = lax.pmean(generator_grads, parallel.DATA_AXIS)
    updates, generator_opt_state = self.generator_optimizer.update(
      generator_grads, state.generator_opt_state, state.generator_params
    )
    generator_params = optax.apply_updates(state.generator_params, updates)

    # Each pool draws its own per-example keys: streams 0 and 1 of the step.
    first_example = parallel.first_example(local_batch)
    pool_keys = lambda stream: parallel.example_keys(
      jax.random.fold_in(step_key, stream), first_example=first_example, batch_size=local_batch
    )
    fake_a_pool, shown_a = image_pool.query(state.fake_a_pool, fake_a, pool_keys(0))
    fake_b_pool, shown_b = image_pool.query(state.fake_b_pool, fake_b, pool_keys(1))

    def discriminator_objective(params):
      terms = {}
      for domain, real, fake in ((A, real_a, shown_a), (B, real_b, shown_b)):
        # One pass for both halves: instance normalisation keeps them apart.
        outputs = self._judge(params, domain, jnp.concatenate([real, fake]))
        real_out, fake_out = jnp.split(outputs, 2)
        terms[f'discriminator_{domain}_loss'] = losses.discriminator_loss(
          self.loss, real_out, fake_out
        )
        terms[f'discriminator_{domain}_real'] = jnp.mean(real_out)
        terms[f'discriminator_{domain}_fake'] = jnp.mean(fake_out)
      loss = terms['discriminator_a_loss'] + terms['discriminator_b_loss']
      terms['discriminator_loss'] = loss
      return loss, terms

    (_, discriminator_terms), discriminator_grads = jax.value_and_grad(
      discriminator_objective, has_aux=True
    )(state.discriminator_params)
    discriminator_grads = lax.pmean(discriminator_grads, parallel.DATA_AXIS)
    updates, discriminator_opt_state = self.discriminator_optimizer.update(
      discriminator_grads, state.discriminator_opt_state, state.discriminator_params
    )
    discriminator_params = optax.apply_updates(state.discriminator_params, updates)

    new_state = state.replace(
      step=state.step + 1,
      generator_params=generator_params,
      discriminator_params=discriminator_params,
      generator_opt_state=generator_opt_state,
      discriminator_opt_state=discriminator_opt_state,
      fake_a_pool=fake_a_pool,
      fake_b_pool=fake_b_pool,
    )
    metrics = lax.pmean({**generator_terms, **discriminator_terms}, parallel.DATA_AXIS)
    metrics['generator_grad_norm'] = optax.tree.norm(generator_grads)
    metrics['discriminator_grad_norm'] = optax.tree.norm(discriminator_grads)
    return new_state, metrics

  # -------------------------------------------------------------------------
  # Sampling and evaluation.

  def translate(self, state: CycleGANState, direction: str, images: jax.Array) -> jax.Array:
    """G(images) for direction 'ab', F(images) for 'ba'."""
    return self._generate(state.generator_params, direction, images)

  def sample_inputs(
    self, seed: int, count: int, *, label: int | None = None
  ) -> families.SampleInputs:
    """`count` fixed test images of each domain, chosen by `seed`.

    Raises:
      ValueError: for a `label`: a translation draws no class.
    """
    if label is not None:
      raise ValueError('A CycleGAN translates images; it draws no class. Leave out --label.')
    rng = np.random.default_rng(seed)

    def pick(spec):
      size = test_sets.size(spec)
      return test_sets.read(spec, np.sort(rng.choice(size, min(count, size), replace=False)))[0]

    return families.SampleInputs({A: pick(self.test_a), B: pick(self.test_b)}, columns=GRID_COLUMNS)

  def sample(self, state: CycleGANState, inputs: dict[str, jax.Array]) -> jax.Array:
    """A grid's rows, a | G(a) | F(G(a)) | b | F(b) | G(F(b)), or one translation.

    Args:
      state: the run's state.
      inputs: {'a': images, 'b': images} (the same count of each) for the
        rows of a grid, in RGB if either domain is; or {'b_to_a': images}
        (or 'a_to_b') for their translations.
    """
    if TRANSLATE_BA in inputs:
      return self.translate(state, 'ba', inputs[TRANSLATE_BA])
    if TRANSLATE_AB in inputs:
      return self.translate(state, 'ab', inputs[TRANSLATE_AB])
    a, b = inputs[A], inputs[B]
    fake_b, fake_a = self.translate(state, 'ab', a), self.translate(state, 'ba', b)
    columns = [
      a,
      fake_b,
      self.translate(state, 'ba', fake_b),
      b,
      fake_a,
      self.translate(state, 'ab', fake_a),
    ]
    channels = max(x.shape[-1] for x in columns)
    columns = [jnp.broadcast_to(x, (*x.shape[:-1], channels)) for x in columns]
    # (count, 6, H, W, C) -> rows of the grid, one image pair per row.
    return jnp.stack(columns, axis=1).reshape(-1, *columns[0].shape[1:])

  def evaluation_inputs(self, seed: int, count: int) -> tuple[dict, np.ndarray | None]:
    """Test images of domain B for F to translate (repeated if fewer), and their classes."""
    del seed  # The test set, in order: every evaluation scores the same images.
    images, labels = test_sets.read(
      self.test_b, np.arange(count) % test_sets.size(self.test_b), with_labels=True
    )
    return {TRANSLATE_BA: images}, labels

  def draw(self, samples: np.ndarray, columns: int | None) -> np.ndarray:
    """The rows tiled into one grid."""
    return images.make_grid(samples, columns=columns)
