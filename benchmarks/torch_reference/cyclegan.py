"""PyTorch re-implementation of jaxgan's CycleGAN family and its train step, for speed only.

`configs/cyclegan_mnist.py` (and any config of the family with Adam and the
least-squares loss): the ResNet generators G: A -> B and F: B -> A and the
PatchGANs D_A and D_B of `jaxgan/families/cyclegan/networks.py`, layer for
layer and parameter for parameter (reflection padding, InstanceNorm
without affine parameters or running statistics at eps 1e-5, a bias on
every conv, weights N(0, 0.02), biases 0), trained as
`jaxgan/families/cyclegan/model.py` trains them:

1. G and F together: G(a) and F(b) (each with the identity mapping in the
   same pass when the identity loss is on), F(G(a)) and G(F(b)); the loss
   is MSE(D_B(G(a)), 1) + MSE(D_A(F(b)), 1) + lambda_A |F(G(a)) - a| +
   lambda_B |G(F(b)) - b| (+ the identity terms), through the
   discriminators as they stand (no gradients for their weights); one Adam
   over both generators.
2. The new fakes offered to the image pools, one per discriminator, with
   jaxgan's per-example slots (`image_pool`): ceil(pool / batch) images per
   batch position, filled first, then swapped with probability 1/2.
3. D_A and D_B together, each on one pass of [real; pooled fake] (instance
   normalisation keeps the halves apart), loss (MSE(D(real), 1) +
   MSE(D(fake), 0)) / 2 each; one Adam over both.

Both Adams follow the config's schedule (constant, then linear to 0 over
`decay_to_zero_steps`), stepped once a train step, as optax counts updates.

What differs from jaxgan's step:
- Images are NCHW rather than NHWC.
- Randomness: the pools' draws come from PyTorch's global generator, not
  from keys folded per example (same distribution, not the same numbers).
- jaxgan's step also returns each term, D's mean outputs on real and fake
  and both gradient norms (it computes the norms of both gradient trees);
  this step returns the four losses of `progress_metrics` only. That is
  extra work on jaxgan's side.

Not part of the jaxgan library, and never imported by it or its tests.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.torch_reference import common

# Keys of a batch: one stream per domain, as jaxgan's family names them.
A, B = 'a', 'b'
# The image pool's probability of showing a stored fake (util/image_pool.py).
SWAP_PROBABILITY = 0.5


def _init_weights(module: nn.Module) -> None:
  """init_weights(init_type='normal', init_gain=0.02): N(0, 0.02) conv weights, zero biases."""
  for layer in module.modules():
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
      nn.init.normal_(layer.weight, 0.0, 0.02)
      nn.init.zeros_(layer.bias)


def _instance_norm(channels: int) -> nn.InstanceNorm2d:
  # PyTorch's defaults, as jaxgan's `instance_norm` copies them: no affine
  # parameters, no running statistics, eps 1e-5, biased variance.
  return nn.InstanceNorm2d(channels, eps=1e-5, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
  """x + (reflect pad 1, 3x3 conv, IN, ReLU, reflect pad 1, 3x3 conv, IN)(x); no dropout."""

  def __init__(self, channels: int):
    super().__init__()
    self.net = nn.Sequential(
      nn.ReflectionPad2d(1),
      nn.Conv2d(channels, channels, 3),
      _instance_norm(channels),
      nn.ReLU(),
      nn.ReflectionPad2d(1),
      nn.Conv2d(channels, channels, 3),
      _instance_norm(channels),
    )

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return x + self.net(x)


class ResnetGenerator(nn.Module):
  """jaxgan's `ResnetGenerator`: 7x7 stem, two stride-2 convs, residual blocks, two 2x up, 7x7, tanh."""

  def __init__(self, in_channels: int, out_channels: int, filters: int = 64, num_blocks: int = 9):
    super().__init__()
    layers = [
      nn.ReflectionPad2d(3),
      nn.Conv2d(in_channels, filters, 7),
      _instance_norm(filters),
      nn.ReLU(),
    ]
    for i in range(2):
      cin, cout = filters * 2**i, filters * 2 ** (i + 1)
      layers += [nn.Conv2d(cin, cout, 3, 2, 1), _instance_norm(cout), nn.ReLU()]
    layers += [ResnetBlock(filters * 4) for _ in range(num_blocks)]
    for i in range(2):
      cin, cout = filters * 2 ** (2 - i), filters * 2 ** (1 - i)
      layers += [
        nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
        _instance_norm(cout),
        nn.ReLU(),
      ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(filters, out_channels, 7), nn.Tanh()]
    self.net = nn.Sequential(*layers)
    _init_weights(self)

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    return self.net(images)


class PatchDiscriminator(nn.Module):
  """jaxgan's `PatchDiscriminator`: 4x4 convs, LeakyReLU(0.2), IN on all but the first; logit map."""

  def __init__(self, in_channels: int, filters: int = 64, num_layers: int = 3):
    super().__init__()
    layers = [nn.Conv2d(in_channels, filters, 4, 2, 1), nn.LeakyReLU(0.2)]
    cin = filters
    for n in range(1, num_layers):
      cout = filters * min(2**n, 8)
      layers += [nn.Conv2d(cin, cout, 4, 2, 1), _instance_norm(cout), nn.LeakyReLU(0.2)]
      cin = cout
    cout = filters * min(2**num_layers, 8)
    layers += [
      nn.Conv2d(cin, cout, 4, 1, 1),
      _instance_norm(cout),
      nn.LeakyReLU(0.2),
      nn.Conv2d(cout, 1, 4, 1, 1),
    ]
    self.net = nn.Sequential(*layers)
    _init_weights(self)

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    return self.net(images)


class ImagePool:
  """jaxgan's image pool (`jaxgan/families/cyclegan/image_pool.py`): slots per batch position.

  Slot i holds up to `slot_size` past fakes of example i of the batch. A
  slot that is not full stores the new fake and shows it; a full one shows
  the new fake (probability 1/2) or swaps it with a stored one chosen
  uniformly and shows that one. Vectorised over the slots.
  """

  def __init__(self, pool_size: int, batch_size: int, image_shape: tuple[int, int, int]):
    self.slot_size = math.ceil(pool_size / batch_size) if pool_size else 0
    self.images = torch.zeros(batch_size, self.slot_size, *image_shape)
    self.count = torch.zeros(batch_size, dtype=torch.long)

  def query(self, fakes: torch.Tensor) -> torch.Tensor:
    """Offers (batch, C, H, W) new fakes (detached); returns what D is shown."""
    fakes = fakes.detach()
    if not self.slot_size:
      return fakes
    slots = torch.arange(fakes.shape[0])
    filling = self.count < self.slot_size
    swap = ~filling & (torch.rand(fakes.shape[0]) < SWAP_PROBABILITY)
    index = torch.where(filling, self.count, torch.randint(0, self.slot_size, self.count.shape))
    stored = self.images[slots, index]
    where = lambda mask, x, y: torch.where(mask[:, None, None, None], x, y)
    shown = where(swap, stored, fakes)
    self.images[slots, index] = where(filling | swap, fakes, stored)
    self.count = torch.clamp(self.count + 1, max=self.slot_size)
    return shown


def networks(config, shapes: dict[str, tuple[int, int, int]]) -> dict[str, nn.Module]:
  """G ('ab'), F ('ba'), D_A ('a') and D_B ('b') of a CycleGAN config for (C, H, W) images."""
  channels_a, channels_b = shapes[A][0], shapes[B][0]
  generator = lambda cin, cout: ResnetGenerator(
    cin, cout, config.generator_filters, config.generator_blocks
  )
  discriminator = lambda cin: PatchDiscriminator(
    cin, config.discriminator_filters, config.discriminator_layers
  )
  return {
    'ab': generator(channels_a, channels_b),
    'ba': generator(channels_b, channels_a),
    'a': discriminator(channels_a),
    'b': discriminator(channels_b),
  }


def parameter_counts(step: 'TrainStep') -> dict[str, int]:
  """Each network's parameters, under the names of jaxgan's state ('ab', 'ba', 'a', 'b')."""
  return {name: common.parameter_count(net) for name, net in step.networks.items()}


class TrainStep:
  """One update of both generators, then one of both discriminators, as jaxgan's CycleGAN step.

  Call it with {'a': uint8 (batch, C_A, H, W), 'b': uint8 (batch, C_B, H, W)};
  it returns the losses as tensors (reading them is left to the caller).
  """

  def __init__(
    self,
    config,
    shapes: dict[str, tuple[int, int, int]],
    *,
    compile: bool = False,
    fused_adam: bool = False,
  ):
    """Builds the networks, optimizers and pools of a jaxgan CycleGAN config.

    Args:
      config: the family's config (configs/cyclegan_mnist.py).
      shapes: {'a': (C, H, W), 'b': (C, H, W)}, each domain's images.
      compile: wrap each network in `torch.compile` (the optimizers and the
        pools stay eager); the first call then includes compiling.
      fused_adam: Adam's fused kernel instead of PyTorch's CPU default.

    Raises:
      ValueError: for a loss other than least squares, or the identity loss
        between domains of different channels.
    """
    if config.loss != 'least_squares':
      raise ValueError(f'The CycleGAN reference has the least-squares loss, not {config.loss!r}.')
    self.identity_weight = config.identity_weight
    if self.identity_weight and shapes[A][0] != shapes[B][0]:
      raise ValueError('The identity loss needs both domains in the same channels.')
    self.cycle_weight_a = config.cycle_weight_a
    self.cycle_weight_b = config.cycle_weight_b
    self.networks = networks(config, shapes)
    for net in self.networks.values():
      net.train()
    self._generator_params = [p for name in ('ab', 'ba') for p in self.networks[name].parameters()]
    discriminator_params = [p for name in (A, B) for p in self.networks[name].parameters()]
    adam = lambda params, settings: common.adam_from_config(
      params, settings, num_steps=config.num_steps, fused=fused_adam
    )
    self.generator_optimizer, self.generator_schedule = adam(
      self._generator_params, config.generator_optimizer
    )
    self.discriminator_optimizer, self.discriminator_schedule = adam(
      discriminator_params, config.discriminator_optimizer
    )
    self.pools = {
      domain: ImagePool(config.pool_size, config.batch_size, shapes[domain]) for domain in (A, B)
    }
    run = {name: torch.compile(net) if compile else net for name, net in self.networks.items()}
    self._generate = {'ab': run['ab'], 'ba': run['ba']}
    self._judge = {A: run[A], B: run[B]}

  def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    real_a, real_b = common.to_float_images(batch[A]), common.to_float_images(batch[B])
    identity = self.identity_weight > 0

    # G and F, through the discriminators as they stand.
    self.generator_optimizer.zero_grad(set_to_none=True)
    fake_b = self._generate['ab'](torch.cat([real_a, real_b]) if identity else real_a)
    fake_a = self._generate['ba'](torch.cat([real_b, real_a]) if identity else real_b)
    if identity:
      (fake_b, same_b), (fake_a, same_a) = fake_b.chunk(2), fake_a.chunk(2)
    cycled_a = self._generate['ba'](fake_b)
    cycled_b = self._generate['ab'](fake_a)
    d_b, d_a = self._judge[B](fake_b), self._judge[A](fake_a)
    cycle_a = F.l1_loss(cycled_a, real_a)
    cycle_b = F.l1_loss(cycled_b, real_b)
    generator_loss = (
      F.mse_loss(d_b, torch.ones_like(d_b))
      + F.mse_loss(d_a, torch.ones_like(d_a))
      + self.cycle_weight_a * cycle_a
      + self.cycle_weight_b * cycle_b
    )
    if identity:
      generator_loss = generator_loss + self.identity_weight * (
        self.cycle_weight_a * F.l1_loss(same_a, real_a)
        + self.cycle_weight_b * F.l1_loss(same_b, real_b)
      )
    # Only the generators' gradients, as jax.grad with respect to their parameters.
    generator_loss.backward(inputs=self._generator_params)
    self.generator_optimizer.step()
    if self.generator_schedule is not None:
      self.generator_schedule.step()

    # D_A and D_B on reals and pooled fakes of this same forward pass.
    shown_a, shown_b = self.pools[A].query(fake_a), self.pools[B].query(fake_b)
    self.discriminator_optimizer.zero_grad(set_to_none=True)
    discriminator_loss = 0.0
    for domain, real, fake in ((A, real_a, shown_a), (B, real_b, shown_b)):
      real_out, fake_out = self._judge[domain](torch.cat([real, fake])).chunk(2)
      discriminator_loss = discriminator_loss + 0.5 * (
        F.mse_loss(real_out, torch.ones_like(real_out))
        + F.mse_loss(fake_out, torch.zeros_like(fake_out))
      )
    discriminator_loss.backward()
    self.discriminator_optimizer.step()
    if self.discriminator_schedule is not None:
      self.discriminator_schedule.step()
    return {
      'generator_loss': generator_loss.detach(),
      'discriminator_loss': discriminator_loss.detach(),
      'cycle_a': cycle_a.detach(),
      'cycle_b': cycle_b.detach(),
    }
