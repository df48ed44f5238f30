"""StyleGAN (Karras et al. 2019) on MNIST padded to 32x32, networks scaled down for a CPU.

  python train.py --config=configs/stylegan.py --workdir=runs/stylegan

G: an 8-layer mapping network (z, w of 128; lr multiplier 0.01) and
StyleGAN's synthesis network ('adain': a learned 4x4 constant, per layer a
3x3 conv, per-pixel noise, AdaIN with a style from that layer's w; one toRGB
at the end); D: StyleGAN's ('orig': blur before each 2x-downsampling conv,
minibatch stddev at 4x4). NVlabs' settings otherwise: non-saturating
logistic loss with R1 (gamma 10) on the reals every step, style mixing with
probability 0.9, Adam 0.001 with betas (0, 0.99) and eps 1e-8 for both
networks, a moving average of G with a half-life of 10,000 images
(samples and metrics come from it), the running mean of w with decay 0.995.
No progressive growing (NVlabs' `structure='fixed'`). The feature maps are
scaled down from NVlabs' fmap_base 8192 and fmap_max 512 to 1024 and 64
(64 channels at 4x4 to 16x16, 32 at 32x32), and the batch from 32 at this
resolution stays 32.

The data: MNIST's digits zero-padded by 2 pixels to 32x32 (domain A of the
bundled `mnist2textured`: the first 30,000 training digits, padded as the
MNIST evaluator reads them). For other images, a power-of-2 side:
  python train.py --config=configs/stylegan.py --config.resolution=64 \
      --config.data.source=/path/to/images --config.data.split=train \
      --config.data.resize=64 --config.data.center_crop=64

On 2 CPU cores: measured 1.8 to 1.9 s a step at batch 32 after compiling
(30 s) (2026-12-01, twice 8 steps, the machine shared with other jobs:
load average about 4), so the 1,000 steps take about 30 minutes (0.91 s a step with
the machine to itself, benchmarks/speed.py, 2026-12-02: about 15). R1 every step is a
double backward pass through D on each. Measured (2026-12-02): it collapses.
After 1,000 steps G draws nearly one digit for every z (FID 999, recall
0.0004; benchmarks/results/stylegan_mnist.md). Not yet a working preset.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.family = 'stylegan'
  config.data = default.data_config(source='mnist2textured', split='trainA')
  # A power of 2, at least 8: the images' side (the data must have it).
  config.resolution = 32

  # G: the mapping network.
  config.z_dim = 128
  config.w_dim = 128
  config.mapping_layers = 8
  config.mapping_lr_multiplier = 0.01
  # G: the synthesis network. 'adain' (StyleGAN) or 'modulated' (StyleGAN2);
  # architecture 'orig' (one toRGB) or 'skip' (StyleGAN2's sum of toRGBs),
  # '' for the style's own ('orig' for adain, 'skip' for modulated).
  config.style = 'adain'
  config.synthesis_architecture = ''
  # D: 'orig' (StyleGAN's) or 'resnet' (StyleGAN2's).
  config.discriminator_architecture = 'orig'
  # Channels at stage s: min(fmap_base / 2**s, fmap_max), for G and D; 0:
  # the reference's fmap_base (networks.DEFAULT_FMAP_BASE).
  config.fmap_base = 1024
  config.fmap_max = 64
  # D's minibatch stddev layer: samples per group (0: no layer), features.
  config.mbstd_group_size = 4
  config.mbstd_num_features = 1
  # Convolutions: 'auto' (fast rewrite on CPU, XLA's own elsewhere), 'fast', 'xla'.
  config.conv_implementation = 'auto'

  # Regularisers. R1 on the reals, gamma / 2 E||grad D||^2, every
  # r1_interval steps (times the interval; >1 is StyleGAN2's lazy R1, which
  # also scales D's lr by c = interval / (interval + 1) and its betas to the c).
  config.r1_gamma = 10.0
  config.r1_interval = 1
  # StyleGAN2's path length regulariser (0: off), every path_length_interval
  # steps on local_batch // batch_shrink examples; G's optimizer is scaled
  # as D's is for lazy R1.
  config.path_length_weight = 0.0
  config.path_length_interval = 4
  config.path_length_decay = 0.01
  config.path_length_batch_shrink = 2
  # Style mixing: the probability that an example's layers from a random
  # crossover on take a second z's w.
  config.mixing_probability = 0.9
  # The running mean of w (the truncation trick's centre).
  config.w_avg_decay = 0.995
  # G's moving average: half-life in thousands of images; ramp-up 0 (off)
  # or StyleGAN2-ADA's 0.05 (the half-life at most 5% of the images seen).
  config.ema_kimg = 10.0
  config.ema_rampup = 0.0
  # Samples and evaluations: the truncation trick's psi (1: none, the raw
  # distribution) on layers below the cutoff (0: every layer).
  config.truncation_psi = 1.0
  config.truncation_cutoff = 0

  config.batch_size = 32
  config.num_steps = 1_000
  config.generator_optimizer = default.optimizer_config(0.001, 0.0, 0.99)
  config.discriminator_optimizer = default.optimizer_config(0.001, 0.0, 0.99)

  config.log_every = 100
  config.sample_every = 250
  config.checkpoint_every = 250
  config.eval_every = 1_000
  config.eval_samples = 10_000
  return config
