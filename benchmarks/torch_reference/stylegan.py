"""PyTorch re-implementation of jaxgan's StyleGAN family and its train step, for speed only.

`configs/stylegan.py` (StyleGAN) and `configs/stylegan2.py` (StyleGAN2): the
networks of `jaxgan/families/stylegan/networks.py`, layer for layer and
parameter for parameter, trained as `jaxgan/families/stylegan/model.py`
trains them.

G: the mapping network (pixel norm of z, equalised dense layers with the
lr multiplier, LeakyReLU(0.2); StyleGAN's gain sqrt(2) in the weights or
StyleGAN2's after the activation), then the synthesis network:
- 'adain' (StyleGAN): a constant 4x4 input (ones), per layer a 3x3
  equalised conv (the first of each resolution after nearest 2x
  upsampling, computed fused as jaxgan does, as a stride-2 transposed conv
  with the box-summed kernel, then the [1, 2, 1] blur), per-pixel noise
  times per-channel weights, bias, LeakyReLU, instance norm (eps 1e-8) and
  AdaIN with the layer's style; one 1x1 toRGB at the end ('orig').
- 'modulated' (StyleGAN2): a constant N(0, 1) input, modulated 3x3 convs
  with demodulation (activations scaled by the styles, one shared conv;
  the upsampling ones a stride-2 transposed conv then the [1, 3, 3, 1]
  filter with gain 4), noise times one strength, bias, sqrt(2) LeakyReLU;
  'skip': a toRGB at every resolution, the running image upsampled by the
  FIR filter and summed.
D: 'orig' (StyleGAN: 1x1 fromRGB, per resolution a 3x3 conv, the blur, a
3x3 conv with 2x2 average pooling computed fused as a stride-2 conv of the
box-summed kernel / 4, bias; minibatch stddev, 3x3 conv, two dense layers)
or 'resnet' (StyleGAN2: FIR-downsampled 1x1 skip, 3x3 conv, FIR filter,
stride-2 3x3 conv, the sum times sqrt(0.5); the same epilogue).
Equalised learning rate everywhere: weights stored N(0, 1 / lr_mul^2) and
scaled by gain * lr_mul / sqrt(fan_in) at run time, biases scaled by lr_mul.

A step: D first, on reals and on fakes of G as it stands (each z's w mixed
with a second z's from a random crossover layer with the config's
probability; fresh noise), the logistic loss softplus(D(G(z))) +
softplus(-D(x)), and R1 = gamma / 2 E||grad_x D(x)||^2 on the reals: in that
loss with an `r1_interval` of 1, else every `r1_interval` steps (times the
interval) in an Adam step of its own from the updated D (NVlabs' lazy
regularisation, with its scaling of the rate and betas). Then G, with fresh
z, mixing and noise, on softplus(-D(G(z))) through the D just updated, and
StyleGAN2's path length penalty on batch // shrink examples (times the
weight and the interval) in the same way. Then the running mean of w moves
toward the batch's mean unmixed w (decay 0.995), and G's moving average
takes NVlabs' half-life (with StyleGAN2-ADA's ramp-up if the config sets
it).

What differs from jaxgan's step:
- Images are NCHW rather than NHWC; D's dense layer after its last conv
  reads C, H, W rather than H, W, C (a permutation of its weights).
- Transposed convolutions use PyTorch's ConvTranspose2d semantics on the
  stored kernel as jaxgan's do; the resampling conv flips its kernel before
  box-summing, as jaxgan's, so 'up' is exactly nearest upsampling then the
  conv (checked once: F.conv2d(F.interpolate(x, scale_factor=2), w) within
  1e-6; 'down' likewise F.avg_pool2d of the conv).
- Randomness: z, the mixing draws, the noise and the path length noise
  come from PyTorch's global generator, not from keys folded per example;
  the same distributions, not the same numbers.
- R1: jaxgan's D step runs D on the reals once for the loss and once more
  inside R1's gradient (XLA may merge the two forward passes); here one
  forward pass of the reals serves both, with `create_graph` for R1's
  double backward.
- `compile`: torch.compile's AOTAutograd does not take a double backward,
  so the passes that need one (D on the reals when R1 is due, the
  synthesis network in the path length term) run the eager module; every
  other pass runs the compiled one.
- jaxgan's step also returns D's mean sigmoid outputs, both gradient
  norms, the norm of w's mean and the EMA's beta, and keeps the lazy
  regularisers' latest values; this step returns the losses (and the
  regularisers' values on the steps that compute them). That is extra work
  on jaxgan's side.

Not part of the jaxgan library, and never imported by it or its tests.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.torch_reference import common

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2
BLUR_TAPS = (1.0, 2.0, 1.0)
FIR_TAPS = (1.0, 3.0, 3.0, 1.0)
# Each reference's default fmap_base, as jaxgan's networks.DEFAULT_FMAP_BASE.
DEFAULT_FMAP_BASE = {'adain': 8192, 'modulated': 32768, 'orig': 8192, 'resnet': 32768}
REAL = 'real'


def lrelu(x: torch.Tensor) -> torch.Tensor:
  return F.leaky_relu(x, LRELU_SLOPE)


def nf(stage: int, fmap_base: int, fmap_max: int) -> int:
  """min(fmap_base // 2**stage, fmap_max), at least 1: jaxgan's `networks.nf`."""
  return max(min(fmap_base // 2**stage, fmap_max), 1)


def num_ws(resolution: int) -> int:
  return 2 * int(math.log2(resolution)) - 2


# ---------------------------------------------------------------------------
# Filters: depthwise convolutions with the separable, normalised taps.


def _filter2d(taps: tuple[float, ...], gain: float = 1.0) -> torch.Tensor:
  """outer(taps, taps) normalised to sum to `gain`, (1, 1, k, k)."""
  t = torch.tensor(taps)
  f = torch.outer(t, t)
  return (f / f.sum() * gain)[None, None]


class FIRFilter(nn.Module):
  """jaxgan's `fir_filter2d`: zero padding (before, after), then the filter on each channel."""

  def __init__(self, taps, padding: tuple[int, int], gain: float = 1.0, stride: int = 1):
    super().__init__()
    self.register_buffer('kernel', _filter2d(taps, gain), persistent=False)
    before, after = padding
    self.pad = (before, after, before, after)
    self.stride = stride

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    channels = x.shape[1]
    x = F.pad(x, self.pad)
    kernel = self.kernel.expand(channels, 1, -1, -1)
    return F.conv2d(x, kernel, stride=self.stride, groups=channels)


def blur() -> FIRFilter:
  """StyleGAN's [1, 2, 1] blur, same size out (`blur2d`)."""
  return FIRFilter(BLUR_TAPS, (1, 1))


def fir_downsample() -> FIRFilter:
  """StyleGAN2's 2x FIR downsampling (`downsample2d`): pad (1, 1), filter, every other pixel."""
  return FIRFilter(FIR_TAPS, (1, 1), stride=2)


class FIRUpsample(nn.Module):
  """StyleGAN2's 2x FIR upsampling (`upsample2d`): zeros inserted, pad (2, 1), filter of gain 4."""

  def __init__(self):
    super().__init__()
    self.filter = FIRFilter(FIR_TAPS, (2, 1), gain=4.0)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    up = x.new_zeros(b, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = x
    return self.filter(up)


def _box_summed(kernel: torch.Tensor) -> torch.Tensor:
  """(O, I, k, k) -> (O, I, k + 1, k + 1): the kernel summed at its 4 offsets in a 2x2 box."""
  p = F.pad(kernel, (1, 1, 1, 1))
  return p[:, :, 1:, 1:] + p[:, :, :-1, 1:] + p[:, :, 1:, :-1] + p[:, :, :-1, :-1]


# ---------------------------------------------------------------------------
# Equalised learning-rate layers.


class EqualizedLinear(nn.Module):
  """jaxgan's `EqualizedDense`: x @ (W * gain * lr_mul / sqrt(fan_in)) + b * lr_mul."""

  def __init__(
    self,
    fan_in: int,
    features: int,
    *,
    gain: float = SQRT2,
    lr_multiplier: float = 1.0,
    bias: bool = True,
    bias_init: float = 0.0,
  ):
    super().__init__()
    self.weight = nn.Parameter(torch.randn(features, fan_in) / lr_multiplier)
    self.bias = nn.Parameter(torch.full((features,), float(bias_init))) if bias else None
    self.weight_gain = gain * lr_multiplier / math.sqrt(fan_in)
    self.lr_multiplier = lr_multiplier

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    bias = None if self.bias is None else self.bias * self.lr_multiplier
    return F.linear(x, self.weight * self.weight_gain, bias)


class EqualizedConv2d(nn.Module):
  """jaxgan's `EqualizedConv`, with its fused 'up' and 'down' resampling convs.

  'up' (nearest 2x, then the conv): a stride-2 transposed conv of the
  box-summed flipped kernel; 'down' (the conv, then 2x2 average pooling): a
  stride-2 conv of the box-summed kernel / 4.
  """

  def __init__(
    self,
    cin: int,
    cout: int,
    kernel_size: int,
    *,
    gain: float = SQRT2,
    lr_multiplier: float = 1.0,
    bias: bool = True,
    stride: int = 1,
    padding: int | None = None,
    resample: str | None = None,
  ):
    super().__init__()
    self.weight = nn.Parameter(torch.randn(cout, cin, kernel_size, kernel_size) / lr_multiplier)
    self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
    self.weight_gain = gain * lr_multiplier / math.sqrt(kernel_size * kernel_size * cin)
    self.lr_multiplier = lr_multiplier
    self.stride = stride
    self.padding = kernel_size // 2 if padding is None else padding
    self.resample = resample

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    weight = self.weight * self.weight_gain
    if self.resample == 'up':
      summed = _box_summed(weight.flip(2, 3))
      y = F.conv_transpose2d(x, summed.transpose(0, 1), stride=2, padding=self.padding)
    elif self.resample == 'down':
      y = F.conv2d(x, _box_summed(weight) * 0.25, stride=2, padding=self.padding)
    else:
      y = F.conv2d(x, weight, stride=self.stride, padding=self.padding)
    if self.bias is not None:
      y = y + (self.bias * self.lr_multiplier)[None, :, None, None]
    return y


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
  return x * torch.rsqrt(x.square().mean(dim=-1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, num_features: int = 1) -> torch.Tensor:
  """jaxgan's `minibatch_stddev` (NVlabs' grouping: sample i in group i % (N / G)), NCHW."""
  n, c, h, w = x.shape
  group = min(group_size, n)
  y = x.reshape(group, n // group, num_features, c // num_features, h, w)
  std = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8)  # (M, F, c, H, W)
  stat = std.mean(dim=(2, 3, 4)).repeat(group, 1)  # (N, F)
  return torch.cat([x, stat[:, :, None, None].expand(n, num_features, h, w)], dim=1)


class MappingNetwork(nn.Module):
  """z -> w: pixel norm, `num_layers` equalised dense layers with the lr multiplier."""

  def __init__(self, z_dim, w_dim, num_layers, lr_multiplier, gain_after_activation):
    super().__init__()
    gain = 1.0 if gain_after_activation else SQRT2
    self.after = SQRT2 if gain_after_activation else 1.0
    self.layers = nn.ModuleList(
      EqualizedLinear(z_dim if i == 0 else w_dim, w_dim, gain=gain, lr_multiplier=lr_multiplier)
      for i in range(num_layers)
    )

  def forward(self, z: torch.Tensor) -> torch.Tensor:
    x = pixel_norm(z)
    for layer in self.layers:
      x = lrelu(layer(x))
      if self.after != 1.0:
        x = x * self.after
    return x


# ---------------------------------------------------------------------------
# Synthesis: StyleGAN's AdaIN layers.


class AdaINLayer(nn.Module):
  """[upsample] conv [blur], noise, bias, LeakyReLU, instance norm, AdaIN (jaxgan's `AdaINLayer`)."""

  def __init__(self, cin: int, cout: int, w_dim: int, *, conv: bool = True, upsample=False):
    super().__init__()
    self.conv = (
      EqualizedConv2d(cin, cout, 3, bias=False, resample='up' if upsample else None)
      if conv
      else None
    )
    self.blur = blur() if upsample else None
    self.noise_weight = nn.Parameter(torch.zeros(cout))
    self.bias = nn.Parameter(torch.zeros(cout))
    self.style = EqualizedLinear(w_dim, 2 * cout, gain=1.0)

  def forward(self, x: torch.Tensor, w: torch.Tensor, noise: bool = True) -> torch.Tensor:
    if self.conv is not None:
      x = self.conv(x)
    if self.blur is not None:
      x = self.blur(x)
    b, _, h, wd = x.shape
    if noise:
      x = x + torch.randn(b, 1, h, wd, device=x.device) * self.noise_weight[None, :, None, None]
    x = lrelu(x + self.bias[None, :, None, None])
    scale, bias = self.style(w)[:, :, None, None].chunk(2, dim=1)
    return F.instance_norm(x, eps=1e-8) * (scale + 1.0) + bias


class ModulatedConv(nn.Module):
  """StyleGAN2's modulated conv, the non-fused way (jaxgan's `ModulatedConv`)."""

  def __init__(self, cin, cout, w_dim, kernel_size=3, *, demodulate=True, up=False):
    super().__init__()
    self.affine = EqualizedLinear(w_dim, cin, gain=1.0, bias_init=1.0)
    self.weight = nn.Parameter(torch.randn(cout, cin, kernel_size, kernel_size))
    self.demodulate = demodulate
    self.up = up
    self.style_scale = 1.0 if demodulate else 1 / math.sqrt(kernel_size * kernel_size * cin)
    self.fir = FIRFilter(FIR_TAPS, (1, 1), gain=4.0) if up else None

  def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    styles = self.affine(w)
    if self.style_scale != 1.0:
      styles = styles * self.style_scale
    x = x * styles[:, :, None, None]
    k = self.weight.shape[-1]
    if self.up:
      x = self.fir(F.conv_transpose2d(x, self.weight.transpose(0, 1), stride=2))
    else:
      x = F.conv2d(x, self.weight, padding=k // 2)
    if self.demodulate:
      power = styles.square() @ self.weight.square().sum(dim=(2, 3)).t()
      x = x * torch.rsqrt(power + 1e-8)[:, :, None, None]
    return x


class ModulatedLayer(nn.Module):
  """Modulated conv, noise times one strength, bias, sqrt(2) LeakyReLU (`ModulatedLayer`)."""

  def __init__(self, cin: int, cout: int, w_dim: int, *, up: bool = False):
    super().__init__()
    self.conv = ModulatedConv(cin, cout, w_dim, 3, up=up)
    self.noise_strength = nn.Parameter(torch.zeros(()))
    self.bias = nn.Parameter(torch.zeros(cout))

  def forward(self, x: torch.Tensor, w: torch.Tensor, noise: bool = True) -> torch.Tensor:
    x = self.conv(x, w)
    b, _, h, wd = x.shape
    if noise:
      x = x + torch.randn(b, 1, h, wd, device=x.device) * self.noise_strength
    return lrelu(x + self.bias[None, :, None, None]) * SQRT2


class ToRGB(nn.Module):
  """StyleGAN2's toRGB: a 1x1 modulated conv without demodulation, and a bias."""

  def __init__(self, cin: int, channels: int, w_dim: int):
    super().__init__()
    self.conv = ModulatedConv(cin, channels, w_dim, 1, demodulate=False)
    self.bias = nn.Parameter(torch.zeros(channels))

  def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisNetwork(nn.Module):
  """ws (B, num_ws, w_dim) -> images (B, C, H, W): 'adain' or 'modulated', 'orig' or 'skip'."""

  def __init__(
    self,
    resolution: int,
    channels: int,
    w_dim: int,
    *,
    style: str,
    architecture: str | None,
    fmap_base: int | None,
    fmap_max: int,
  ):
    super().__init__()
    self.style = style
    self.architecture = architecture or ('orig' if style == 'adain' else 'skip')
    if style == 'adain' and self.architecture != 'orig':
      raise ValueError("The reference's 'adain' synthesis has the 'orig' architecture only.")
    if style == 'modulated' and self.architecture != 'skip':
      raise ValueError("The reference's 'modulated' synthesis has the 'skip' architecture only.")
    base = fmap_base or DEFAULT_FMAP_BASE[style]
    shift = 1 if style == 'adain' else 0
    features = lambda res: nf(int(math.log2(res)) - shift, base, fmap_max)
    self.log2 = int(math.log2(resolution))
    self.num_ws = num_ws(resolution)
    c4 = features(4)
    self.layers = nn.ModuleList()
    if style == 'adain':
      self.const = nn.Parameter(torch.ones(c4, 4, 4))
      self.layers.append(AdaINLayer(c4, c4, w_dim, conv=False))
      self.layers.append(AdaINLayer(c4, c4, w_dim))
      for r in range(3, self.log2 + 1):
        cin, cout = features(2 ** (r - 1)), features(2**r)
        self.layers.append(AdaINLayer(cin, cout, w_dim, upsample=True))
        self.layers.append(AdaINLayer(cout, cout, w_dim))
      self.to_rgb = EqualizedConv2d(features(resolution), channels, 1, gain=1.0)
    else:
      self.const = nn.Parameter(torch.randn(c4, 4, 4))
      self.layers.append(ModulatedLayer(c4, c4, w_dim))
      self.to_rgbs = nn.ModuleList([ToRGB(c4, channels, w_dim)])
      for r in range(3, self.log2 + 1):
        cin, cout = features(2 ** (r - 1)), features(2**r)
        self.layers.append(ModulatedLayer(cin, cout, w_dim, up=True))
        self.layers.append(ModulatedLayer(cout, cout, w_dim))
        self.to_rgbs.append(ToRGB(cout, channels, w_dim))
      self.upsample = FIRUpsample()

  def forward(self, ws: torch.Tensor, noise: bool = True) -> torch.Tensor:
    x = self.const[None].expand(ws.shape[0], -1, -1, -1)
    if self.style == 'adain':
      for j, layer in enumerate(self.layers):
        x = layer(x, ws[:, j], noise)
      return self.to_rgb(x)
    x = self.layers[0](x, ws[:, 0], noise)
    # The toRGB after conv layer j takes w j + 1, which the next conv shares.
    image = self.to_rgbs[0](x, ws[:, 1])
    for stage, r in enumerate(range(3, self.log2 + 1), start=1):
      i = 2 * r - 5
      x = self.layers[i](x, ws[:, i], noise)
      x = self.layers[i + 1](x, ws[:, i + 1], noise)
      image = self.upsample(image) + self.to_rgbs[stage](x, ws[:, i + 2])
    return image


class Discriminator(nn.Module):
  """Images (B, C, H, W) -> logits (B,): StyleGAN's 'orig' or StyleGAN2's 'resnet' D."""

  def __init__(
    self,
    resolution: int,
    channels: int,
    *,
    architecture: str,
    fmap_base: int | None,
    fmap_max: int,
    mbstd_group_size: int,
    mbstd_num_features: int,
  ):
    super().__init__()
    self.orig = architecture == 'orig'
    base = fmap_base or DEFAULT_FMAP_BASE[architecture]
    at = (lambda r: nf(r - 1, base, fmap_max)) if self.orig else (lambda r: nf(r, base, fmap_max))
    gain = SQRT2 if self.orig else 1.0
    self.act_gain = 1.0 if self.orig else SQRT2
    conv = lambda *a, **k: EqualizedConv2d(*a, **{'gain': gain, **k})
    log2 = int(math.log2(resolution))
    self.from_rgb = conv(channels, at(log2), 1)
    self.blocks = nn.ModuleList()
    for r in range(log2, 2, -1):
      block = nn.Module()
      block.conv_0 = conv(at(r), at(r), 3)
      if self.orig:
        block.blur = blur()
        block.conv_1 = conv(at(r), at(r - 1), 3, bias=False, resample='down')
        block.conv_1_bias = nn.Parameter(torch.zeros(at(r - 1)))
      else:
        block.skip_down = fir_downsample()
        block.skip = conv(at(r), at(r - 1), 1, gain=1.0, bias=False)
        block.fir = FIRFilter(FIR_TAPS, (2, 2))
        block.conv_1 = conv(at(r), at(r - 1), 3, stride=2, padding=0)
      self.blocks.append(block)
    self.mbstd = (mbstd_group_size, mbstd_num_features) if mbstd_group_size > 0 else None
    extra = mbstd_num_features if self.mbstd else 0
    self.conv_4 = conv(at(2) + extra, at(2), 3)
    self.dense_4 = EqualizedLinear(at(2) * 16, at(1) if self.orig else at(2), gain=gain)
    self.logits = EqualizedLinear(at(1) if self.orig else at(2), 1, gain=1.0)

  def act(self, x: torch.Tensor) -> torch.Tensor:
    x = lrelu(x)
    return x * self.act_gain if self.act_gain != 1.0 else x

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    x = self.act(self.from_rgb(images))
    for block in self.blocks:
      if self.orig:
        x = self.act(block.conv_0(x))
        y = block.conv_1(block.blur(x))
        x = self.act(y + block.conv_1_bias[None, :, None, None])
      else:
        skip = block.skip(block.skip_down(x))
        y = self.act(block.conv_0(x))
        y = self.act(block.conv_1(block.fir(y)))
        x = (skip + y) * math.sqrt(0.5)
    if self.mbstd:
      x = minibatch_stddev(x, *self.mbstd)
    x = self.act(self.conv_4(x))
    x = self.act(self.dense_4(x.flatten(1)))
    return self.logits(x)[:, 0]


# ---------------------------------------------------------------------------
# The train step.


class Generator(nn.Module):
  """Mapping and synthesis, named as jaxgan's generator_params ('mapping', 'synthesis')."""

  def __init__(self, mapping: MappingNetwork, synthesis: SynthesisNetwork):
    super().__init__()
    self.mapping = mapping
    self.synthesis = synthesis


def networks(config, image_shape: tuple[int, int, int]) -> tuple[Generator, Discriminator]:
  """G (mapping and synthesis) and D of a jaxgan StyleGAN config, for (C, H, W) images."""
  channels, height, width = image_shape
  if (height, width) != (config.resolution, config.resolution):
    raise ValueError(f'Images of {height}x{width} for resolution {config.resolution}.')
  fmap_base = config.fmap_base or None
  mapping = MappingNetwork(
    config.z_dim,
    config.w_dim,
    config.mapping_layers,
    config.mapping_lr_multiplier,
    gain_after_activation=config.style == 'modulated',
  )
  synthesis = SynthesisNetwork(
    config.resolution,
    channels,
    config.w_dim,
    style=config.style,
    architecture=config.synthesis_architecture or None,
    fmap_base=fmap_base,
    fmap_max=config.fmap_max,
  )
  discriminator = Discriminator(
    config.resolution,
    channels,
    architecture=config.discriminator_architecture,
    fmap_base=fmap_base,
    fmap_max=config.fmap_max,
    mbstd_group_size=config.mbstd_group_size,
    mbstd_num_features=config.mbstd_num_features,
  )
  return Generator(mapping, synthesis), discriminator


def parameter_counts(step: 'TrainStep') -> dict[str, int]:
  """Parameters of the mapping network, the synthesis network and D."""
  return {
    'mapping': common.parameter_count(step.generator.mapping),
    'synthesis': common.parameter_count(step.generator.synthesis),
    'discriminator': common.parameter_count(step.discriminator),
  }


class TrainStep:
  """One D update (R1, lazily), then one G update (path length, lazily), as jaxgan's step.

  Call it with {'real': uint8 (batch, C, H, W)}; it returns the losses as
  tensors (reading them is left to the caller).

  Attributes:
    generator, discriminator: the eager modules.
    generator_ema: the moving average of G's parameters, a list of tensors.
    w_avg: the running mean of w.
  """

  def __init__(
    self,
    config,
    shapes: dict[str, tuple[int, int, int]],
    *,
    compile: bool = False,
    fused_adam: bool = False,
  ):
    """Builds the networks and optimizers of a jaxgan StyleGAN config.

    Args:
      config: the family's config (configs/stylegan.py, configs/stylegan2.py).
      shapes: {'real': (C, H, W)}.
      compile: run the networks through `torch.compile` (see the module
        docstring for the passes that stay eager); the first calls include
        compiling.
      fused_adam: Adam's fused kernel instead of PyTorch's CPU default.
    """
    self.generator, self.discriminator = networks(config, shapes[REAL])
    self.generator.train()
    self.discriminator.train()
    self.z_dim = config.z_dim
    self.num_ws = self.generator.synthesis.num_ws
    self.mixing_probability = config.mixing_probability
    self.r1_gamma = config.r1_gamma
    self.r1_interval = config.r1_interval
    self.path_length_weight = config.path_length_weight
    self.path_length_interval = config.path_length_interval
    self.path_length_decay = config.path_length_decay
    self.path_length_batch_shrink = config.path_length_batch_shrink
    self.w_avg_decay = config.w_avg_decay
    self.ema_kimg = config.ema_kimg
    self.ema_rampup = config.ema_rampup or None
    self.global_batch = config.batch_size
    self._generator_params = list(self.generator.parameters())
    lazy = lambda interval, on: interval / (interval + 1) if on and interval > 1 else 1.0
    self.generator_optimizer, self.generator_schedule = common.adam_from_config(
      self._generator_params,
      config.generator_optimizer,
      num_steps=config.num_steps,
      fused=fused_adam,
      c=lazy(self.path_length_interval, self.path_length_weight > 0),
    )
    self.discriminator_optimizer, self.discriminator_schedule = common.adam_from_config(
      self.discriminator.parameters(),
      config.discriminator_optimizer,
      num_steps=config.num_steps,
      fused=fused_adam,
      c=lazy(self.r1_interval, self.r1_gamma > 0),
    )
    self.generator_ema = [p.detach().clone() for p in self._generator_params]
    self.w_avg = torch.zeros(config.w_dim)
    self.path_length_mean = torch.zeros(())
    self.step = 0
    wrap = torch.compile if compile else (lambda m: m)
    self._mapping = wrap(self.generator.mapping)
    self._synthesis = wrap(self.generator.synthesis)
    self._judge = wrap(self.discriminator)
    self._layers = torch.arange(self.num_ws)

  def _draw_ws(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ws, unmixed w): each example's ws, style mixed with the config's probability."""
    z = torch.randn(batch, self.z_dim)
    if not (self.mixing_probability > 0 and self.num_ws > 1):
      w = self._mapping(z)
      return w[:, None].expand(-1, self.num_ws, -1), w
    # Both z through the mapping network in one pass, as jaxgan.
    w, w_other = self._mapping(torch.cat([z, torch.randn(batch, self.z_dim)])).chunk(2)
    mix, cut = torch.rand(2, batch)
    cut = torch.clamp(1 + torch.floor(cut * (self.num_ws - 1)).long(), max=self.num_ws - 1)
    crossover = torch.where(mix < self.mixing_probability, cut, self.num_ws)
    take_other = (self._layers[None, :] >= crossover[:, None])[:, :, None]
    ws = torch.where(take_other, w_other[:, None], w[:, None])
    return ws, w

  def _path_length_penalty(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN2's path length penalty on `batch` examples, and their mean length."""
    ws, _ = self._draw_ws(batch)
    # The eager synthesis: its double backward is not for torch.compile.
    images = self.generator.synthesis(ws)
    height, width = images.shape[2:]
    pl_noise = torch.randn_like(images) / math.sqrt(height * width)
    (grads,) = torch.autograd.grad((images * pl_noise).sum(), ws, create_graph=True)
    lengths = grads.square().sum(dim=2).mean(dim=1).sqrt()
    # NVlabs lets the penalty's gradient run through the updated mean too.
    mean = torch.lerp(self.path_length_mean, lengths.mean(), self.path_length_decay)
    self.path_length_mean = mean.detach()
    return (lengths - mean).square().mean(), lengths.mean().detach()

  def _r1_penalty(self, reals: torch.Tensor, real_out: torch.Tensor) -> torch.Tensor:
    """E||grad_x D(x)||^2 for reals that require grad and D's outputs on them."""
    (grads,) = torch.autograd.grad(real_out.sum(), reals, create_graph=True)
    return grads.square().sum(dim=(1, 2, 3)).mean()

  def _path_length_term(self, local_batch: int, out: dict[str, torch.Tensor]) -> torch.Tensor:
    """The path length penalty times its weight and interval; its values go into `out`."""
    shrunk = max(local_batch // self.path_length_batch_shrink, 1)
    penalty, lengths = self._path_length_penalty(shrunk)
    out['path_length'], out['path_length_penalty'] = lengths, penalty.detach()
    return penalty * self.path_length_weight * self.path_length_interval

  def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    reals = common.to_float_images(batch[REAL])
    local_batch = reals.shape[0]
    out = {}

    # D: fakes of G as it stands.
    with torch.no_grad():
      ws, _ = self._draw_ws(local_batch)
      fakes = self._synthesis(ws)
    r1_due = bool(self.r1_gamma) and self.step % self.r1_interval == 0
    lazy_r1 = self.r1_interval > 1
    self.discriminator_optimizer.zero_grad(set_to_none=True)
    if r1_due and not lazy_r1:
      reals.requires_grad_(True)
      # The eager D: R1's double backward is not for torch.compile.
      real_out = self.discriminator(reals)
    else:
      real_out = self._judge(reals)
    fake_out = self._judge(fakes)
    loss = F.softplus(fake_out).mean() + F.softplus(-real_out).mean()
    out['discriminator_loss'] = loss.detach()
    if r1_due and not lazy_r1:
      r1 = self._r1_penalty(reals, real_out)
      out['r1_penalty'] = r1.detach()
      loss = loss + self.r1_gamma / 2 * r1
    loss.backward()
    self.discriminator_optimizer.step()
    if r1_due and lazy_r1:
      # NVlabs' 'Dreg': R1 alone, an Adam step of its own from the updated D.
      self.discriminator_optimizer.zero_grad(set_to_none=True)
      reals = reals.detach().requires_grad_(True)
      r1 = self._r1_penalty(reals, self.discriminator(reals))
      out['r1_penalty'] = r1.detach()
      (self.r1_gamma / 2 * self.r1_interval * r1).backward()
      self.discriminator_optimizer.step()
    if self.discriminator_schedule is not None:
      self.discriminator_schedule.step()

    # G: through the D just updated.
    self.generator_optimizer.zero_grad(set_to_none=True)
    ws, w = self._draw_ws(local_batch)
    fake_out = self._judge(self._synthesis(ws))
    loss = F.softplus(-fake_out).mean()
    out['generator_loss'] = loss.detach()
    pl_due = bool(self.path_length_weight) and self.step % self.path_length_interval == 0
    lazy_path_length = self.path_length_interval > 1
    if pl_due and not lazy_path_length:
      loss = loss + self._path_length_term(local_batch, out)
    # Only G's gradients, as jax.grad with respect to G's parameters.
    loss.backward(inputs=self._generator_params)
    self.generator_optimizer.step()
    if pl_due and lazy_path_length:
      # NVlabs' 'Greg': the penalty alone, an Adam step of its own from the updated G.
      self.generator_optimizer.zero_grad(set_to_none=True)
      self._path_length_term(local_batch, out).backward(inputs=self._generator_params)
      self.generator_optimizer.step()
    if self.generator_schedule is not None:
      self.generator_schedule.step()

    with torch.no_grad():
      # The running mean of w toward the batch's mean unmixed w; G's moving average.
      mean_w = w.detach().mean(dim=0)
      self.w_avg = torch.lerp(mean_w, self.w_avg, self.w_avg_decay)
      torch._foreach_lerp_(self.generator_ema, self._generator_params, 1 - self.ema_beta())
    self.step += 1
    return out

  def ema_beta(self) -> float:
    """jaxgan's `ema_beta` at the step before this one's increment."""
    ema_nimg = self.ema_kimg * 1000
    if self.ema_rampup is not None:
      ema_nimg = min(ema_nimg, self.step * self.global_batch * self.ema_rampup)
    return 0.5 ** (self.global_batch / max(ema_nimg, 1e-8))
