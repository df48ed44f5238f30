"""PyTorch re-implementations of jaxgan's classic networks and train step, for speed only.

The vanilla GAN (`configs/gan.py`) and the DCGAN (`configs/dcgan.py`, 28x28
and its `resolution=64` variant), layer for layer and parameter for
parameter as `jaxgan/families/classic/mlp.py` and `dcgan.py` define them,
trained as `jaxgan/families/classic/step.py` trains them with the configs'
defaults: non-saturating BCE on logits, one D update on a real batch and
G(z) fakes, then one G update with a fresh z and a second G forward pass
(Algorithm 1 of Goodfellow et al. 2014), Adam for each network.

`reuse_fakes=True` is instead the step of pytorch/examples' DCGAN: G's
update reuses the D step's G(z) (D trains on it detached), so a step runs
G forward once, not twice.

What differs from jaxgan's step, all of it small:
- Images are NCHW (PyTorch's layout) rather than NHWC; G's dense output is
  reshaped to (C, H, W) rather than (H, W, C). Same arithmetic.
- BatchNorm running statistics: PyTorch updates them on every train-mode
  forward pass, so G's no-grad pass in D's step and D's passes in G's step
  update them too; jaxgan drops those (it keeps G's from G's step and D's
  from D's). An elementwise moving average, no measurable cost.
- jaxgan's step also returns D's and G's gradient norms, D's mean outputs
  and a finiteness check; this step returns the two losses only. That is
  extra work on jaxgan's side of any comparison.

Not part of the jaxgan library, and never imported by it or its tests:
benchmarks/speed.py imports this module only when asked for PyTorch rows.
"""

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

MODELS = ('gan', 'dcgan')
DCGAN_RESOLUTIONS = (28, 64)


def _lecun_normal_(weight: torch.Tensor) -> None:
  """Flax's default Dense init: truncated normal, variance 1 / fan_in (at +-2 sd)."""
  fan_in = weight.shape[1]
  # 0.8796 is the standard deviation of a unit normal truncated at +-2.
  std = math.sqrt(1.0 / fan_in) / 0.87962566103423978
  nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


def _init_like_flax_dense(module: nn.Module) -> None:
  """The MLP GAN's init as jaxgan's: lecun normal kernels, zero biases, BN at (1, 0)."""
  for layer in module.modules():
    if isinstance(layer, nn.Linear):
      _lecun_normal_(layer.weight)
      nn.init.zeros_(layer.bias)


def _init_like_dcgan(module: nn.Module) -> None:
  """Radford et al.'s init, as jaxgan's DCGAN: N(0, 0.02) weights, BN scales N(1, 0.02)."""
  for layer in module.modules():
    if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
      nn.init.normal_(layer.weight, 0.0, 0.02)
      if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    elif isinstance(layer, nn.BatchNorm2d):
      nn.init.normal_(layer.weight, 1.0, 0.02)
      nn.init.zeros_(layer.bias)


# PyTorch's BatchNorm defaults, momentum 0.1 and eps 1e-5, are jaxgan's
# (Flax momentum 0.9 is PyTorch's 0.1); they are left implicit below.


def scale_widths(widths: tuple[int, ...], multiplier: float) -> tuple[int, ...]:
  """jaxgan's `config.generator_width` / `discriminator_width` rule: rounded, at least 1."""
  return tuple(max(1, round(width * multiplier)) for width in widths)


class MLPGenerator(nn.Module):
  """z -> 128 -> 256 -> 512 -> 1024 -> C*H*W: LeakyReLU(0.2), BN on all but the first, tanh.

  `width` multiplies each hidden layer's units, as jaxgan's config.generator_width.
  """

  def __init__(self, image_shape: tuple[int, int, int], latent_dim: int = 100, width: float = 1.0):
    super().__init__()
    self.image_shape = image_shape  # (C, H, W)
    widths = (latent_dim, *scale_widths((128, 256, 512, 1024), width))
    layers = []
    for i in range(1, len(widths)):
      layers.append(nn.Linear(widths[i - 1], widths[i]))
      if i > 1:
        layers.append(nn.BatchNorm1d(widths[i]))
      layers.append(nn.LeakyReLU(0.2))
    layers += [nn.Linear(widths[-1], math.prod(image_shape)), nn.Tanh()]
    self.net = nn.Sequential(*layers)
    _init_like_flax_dense(self)

  def forward(self, z: torch.Tensor) -> torch.Tensor:
    return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
  """C*H*W -> 512 -> 256 -> 1 logit, LeakyReLU(0.2); `width` as config.discriminator_width."""

  def __init__(self, image_shape: tuple[int, int, int], width: float = 1.0):
    super().__init__()
    first, second = scale_widths((512, 256), width)
    self.net = nn.Sequential(
      nn.Flatten(),
      nn.Linear(math.prod(image_shape), first),
      nn.LeakyReLU(0.2),
      nn.Linear(first, second),
      nn.LeakyReLU(0.2),
      nn.Linear(second, 1),
    )
    _init_like_flax_dense(self)

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    return self.net(images)[:, 0]


class DCGANGenerator(nn.Module):
  """Dense z to a stem map, stride-2 4x4 transposed convs with BN and ReLU, tanh.

  28x28: 7x7x256 -> 14x14x128 -> 28x28x64 -> 3x3 conv to C.
  64x64: 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 4x4 transposed conv to 64x64xC.
  `width` multiplies each map's channels, as jaxgan's config.generator_width.
  """

  def __init__(self, resolution: int, channels: int, latent_dim: int = 100, width: float = 1.0):
    super().__init__()
    if resolution == 28:
      self.stem_size, features = 7, (256, 128, 64)
    else:
      self.stem_size, features = 4, (512, 256, 128, 64)
    features = scale_widths(features, width)
    self.stem_features = features[0]
    # No biases before BatchNorm: its shift would cancel them (as jaxgan).
    self.project = nn.Linear(latent_dim, self.stem_size**2 * features[0], bias=False)
    layers = [nn.BatchNorm2d(features[0]), nn.ReLU()]
    for cin, cout in itertools.pairwise(features):
      layers += [
        nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
      ]
    if resolution == 28:
      layers.append(nn.Conv2d(features[-1], channels, 3, 1, 1))
    else:
      layers.append(nn.ConvTranspose2d(features[-1], channels, 4, 2, 1))
    layers.append(nn.Tanh())
    self.net = nn.Sequential(*layers)
    _init_like_dcgan(self)

  def forward(self, z: torch.Tensor) -> torch.Tensor:
    x = self.project(z).view(z.shape[0], self.stem_features, self.stem_size, self.stem_size)
    return self.net(x)


class DCGANDiscriminator(nn.Module):
  """Stride-2 4x4 convs with LeakyReLU(0.2), BN on all but the first, dense to one logit.

  28x28: 14x14x64 -> 7x7x128; 64x64: 32x32x64 -> ... -> 4x4x512. `width` as
  config.discriminator_width.
  """

  def __init__(self, resolution: int, channels: int, width: float = 1.0):
    super().__init__()
    features = scale_widths((64, 128) if resolution == 28 else (64, 128, 256, 512), width)
    layers, cin = [], channels
    for i, cout in enumerate(features):
      # The paper leaves BatchNorm out of D's first layer; a bias only there.
      layers.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0))
      if i > 0:
        layers.append(nn.BatchNorm2d(cout))
      layers.append(nn.LeakyReLU(0.2))
      cin = cout
    final_size = resolution // 2 ** len(features)
    layers += [nn.Flatten(), nn.Linear(final_size**2 * features[-1], 1)]
    self.net = nn.Sequential(*layers)
    _init_like_dcgan(self)

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    return self.net(images)[:, 0]


def networks(
  model: str,
  image_shape: tuple[int, int, int],
  *,
  latent_dim: int = 100,
  resolution: int = 28,
  generator_width: float = 1.0,
  discriminator_width: float = 1.0,
) -> tuple[nn.Module, nn.Module]:
  """G and D of a jaxgan classic config.

  Args:
    model: 'gan' (config.model of configs/gan.py) or 'dcgan'.
    image_shape: (channels, height, width) of the images.
    latent_dim: size of z.
    resolution: the DCGAN's preset, 28 or 64 (config.resolution).
    generator_width, discriminator_width: multipliers of each layer's width
      (config.generator_width and config.discriminator_width).

  Raises:
    ValueError: for a model or resolution this reference does not have, or
      images of another size than the DCGAN preset makes.
  """
  if model == 'gan':
    return (
      MLPGenerator(image_shape, latent_dim, generator_width),
      MLPDiscriminator(image_shape, discriminator_width),
    )
  if model != 'dcgan' or resolution not in DCGAN_RESOLUTIONS:
    raise ValueError(
      f'model {model!r} (resolution {resolution}): the reference has {MODELS}, the DCGAN at '
      f'{DCGAN_RESOLUTIONS}.'
    )
  channels, height, width = image_shape
  if height != resolution or width != resolution:
    raise ValueError(f'The {resolution}x{resolution} DCGAN cannot make {height}x{width} images.')
  return (
    DCGANGenerator(resolution, channels, latent_dim, generator_width),
    DCGANDiscriminator(resolution, channels, discriminator_width),
  )


def parameter_count(module: nn.Module) -> int:
  """Trainable parameters (BatchNorm's scale and shift; not its running statistics)."""
  return sum(p.numel() for p in module.parameters())


def to_float_images(images: torch.Tensor) -> torch.Tensor:
  """uint8 [0, 255] -> float32 [-1, 1], as jaxgan's train call converts its batches."""
  return images.float() * (1 / 127.5) - 1.0


class TrainStep:
  """One D update then one G update of a GAN, as jaxgan's classic step with its defaults.

  Call it with a uint8 batch (batch, C, H, W); it returns the D and G losses
  as tensors (reading them with .item() is left to the caller, so a timed
  loop does not wait on each step).

  Attributes:
    generator, discriminator: the networks, in training mode (compiled
      wrappers of them if `compile`).
    generator_optimizer, discriminator_optimizer: their Adams.
  """

  def __init__(
    self,
    generator: nn.Module,
    discriminator: nn.Module,
    *,
    latent_dim: int = 100,
    generator_adam: tuple[float, float, float] = (2e-4, 0.5, 0.999),
    discriminator_adam: tuple[float, float, float] = (2e-4, 0.5, 0.999),
    ema_decay: float = 0.0,
    reuse_fakes: bool = False,
    compile: bool = False,
    fused_adam: bool = False,
  ):
    """Builds the optimizers (and compiled networks).

    Args:
      generator, discriminator: from `networks`.
      latent_dim: size of z.
      generator_adam, discriminator_adam: (learning rate, beta1, beta2);
        eps is 1e-8 in both PyTorch and optax.
      ema_decay: if > 0, a moving average of G's parameters is updated after
        each G step (config.ema_decay; optax.incremental_update in jaxgan).
      reuse_fakes: pytorch/examples' step (G's update reuses D's fakes)
        instead of jaxgan's (a fresh z and a second G pass).
      compile: wrap each network in `torch.compile` (the optimizers' steps
        stay eager). The first call then includes compiling.
      fused_adam: Adam's fused kernel (`fused=True`, one pass over each
        tensor) instead of PyTorch's CPU default, a loop of elementwise ops
        per tensor: same arithmetic, faster on small models.
    """
    self.latent_dim = latent_dim
    self.reuse_fakes = reuse_fakes
    generator.train()
    discriminator.train()
    self._generator_params = list(generator.parameters())
    self.ema_decay = ema_decay
    self.generator_ema_params = [p.detach().clone() for p in self._generator_params]
    fused = {'fused': True} if fused_adam else {}
    self.generator_optimizer = torch.optim.Adam(
      self._generator_params, lr=generator_adam[0], betas=generator_adam[1:], **fused
    )
    self.discriminator_optimizer = torch.optim.Adam(
      discriminator.parameters(), lr=discriminator_adam[0], betas=discriminator_adam[1:], **fused
    )
    self.generator = torch.compile(generator) if compile else generator
    self.discriminator = torch.compile(discriminator) if compile else discriminator

  def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    real = to_float_images(images)
    batch = real.shape[0]
    z = torch.randn(batch, self.latent_dim)
    if self.reuse_fakes:
      fake = self.generator(z)
      d_fake_input = fake.detach()
    else:
      with torch.no_grad():
        d_fake_input = self.generator(z)

    # D: real and fake as separate batches, each with its own BatchNorm
    # statistics, as jaxgan (and the DCGAN reference trainer) do.
    self.discriminator_optimizer.zero_grad(set_to_none=True)
    real_logits = self.discriminator(real)
    fake_logits = self.discriminator(d_fake_input)
    d_loss = F.binary_cross_entropy_with_logits(
      real_logits, torch.ones_like(real_logits)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    d_loss.backward()
    self.discriminator_optimizer.step()

    # G, through the D just updated: -log D(G(z)).
    self.generator_optimizer.zero_grad(set_to_none=True)
    if not self.reuse_fakes:
      # Algorithm 1: fresh noise for G's update.
      fake = self.generator(torch.randn(batch, self.latent_dim))
    fake_logits = self.discriminator(fake)
    g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    # Only G's gradients: D's weight gradients are not on the way to them,
    # so autograd skips them, as jax.grad with respect to G's parameters does.
    g_loss.backward(inputs=self._generator_params)
    self.generator_optimizer.step()
    if self.ema_decay:
      with torch.no_grad():
        torch._foreach_lerp_(self.generator_ema_params, self._generator_params, 1 - self.ema_decay)
    return d_loss.detach(), g_loss.detach()
