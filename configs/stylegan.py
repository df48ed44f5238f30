"""StyleGAN (Karras et al. 2019) on MNIST padded to 32x32, networks scaled down for a CPU.

  python train.py --config=configs/stylegan.py --workdir=runs/stylegan

G: an 8-layer mapping network (z, w of 32; lr multiplier 0.01) and
StyleGAN's synthesis network ('adain': a learned 4x4 constant, per layer a
3x3 conv, per-pixel noise, AdaIN with a style from that layer's w; one toRGB
at the end); D: StyleGAN's ('orig': blur before each 2x-downsampling conv,
minibatch stddev at 4x4). NVlabs' settings otherwise: non-saturating
logistic loss with R1 (gamma 10) on the reals every step, style mixing with
probability 0.9, Adam 0.001 with betas (0, 0.99) and eps 1e-8 for both
networks, a moving average of G with a half-life of 10,000 images
(samples and metrics come from it), the running mean of w with decay 0.995.
No progressive growing (NVlabs' `structure='fixed'`).

Scaled down for 2 CPU cores: 16 feature maps at every resolution (fmap_max
16 instead of NVlabs' 512), z and w of 32, batch 16, so that a step is
cheap enough for the 25,000 steps (400,000 images) this G needs. For its
first 4,000 or so steps G draws one or two shapes for every z, then learns
the digits (benchmarks/results/stylegan_mnist.md, "Why 1,000 steps look
collapsed"): a run of 1,000 steps of larger networks shows only that
early phase.

The data: MNIST's digits zero-padded by 2 pixels to 32x32 (domain A of the
bundled `mnist2textured`: the first 30,000 training digits, padded as the
MNIST evaluator reads them). Other 28x28 digits take the same padding from
the data config, e.g. stacked MNIST (benchmarks/stacked_mnist.py --variant
stylegan):
  python train.py --config=configs/stylegan.py --config.data.source=stacked_mnist \
      --config.data.split=train --config.data.pad=32
For other images, a power-of-2 side, and on a GPU NVlabs' own sizes
(fmap_base 8192, fmap_max 512, z and w of 512, batch 32):
  python train.py --config=configs/stylegan.py --config.resolution=64 \
      --config.data.source=/path/to/images --config.data.split=train \
      --config.data.resize=64 --config.data.center_crop=64 \
      --config.fmap_base=8192 --config.fmap_max=512 --config.z_dim=512 \
      --config.w_dim=512 --config.batch_size=32

On 2 CPU cores alone (2026-12-02, jax 0.10.2): 22 steps/s, 18.9 minutes
in all. Its evaluation of G's moving average on 10,000 samples: FID 97.7,
precision 0.70, recall 0.085, all 10 digits (KL from uniform 0.07), at
seed 0; seeds 1 and 2 end at FID 63.2 and 97.8, recall 0.118 and 0.068.
The default DCGAN run (configs/dcgan.py, 16 minutes) is well ahead: FID
28.7, recall 0.87 (benchmarks/results/stylegan_mnist.md, with the
samples, the style mixing and truncation figures, and an interpolation).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.family = 'stylegan'
  config.data = default.data_config(source='mnist2textured', split='trainA')
  # A power of 2, at least 8: the images' side (the data must have it).
  config.resolution = 32

  # G: the mapping network.
  config.z_dim = 32
  config.w_dim = 32
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
  config.fmap_max = 16
  # D's minibatch stddev layer: samples per group (0: no layer), features.
  config.mbstd_group_size = 4
  config.mbstd_num_features = 1
  # Convolutions: 'auto' (fast rewrite on CPU, XLA's own elsewhere), 'fast', 'xla'.
  config.conv_implementation = 'auto'
  # What the synthesis layers and D's convolutions compute in: 'float32' or
  # 'bfloat16' (for GPUs and TPUs; XLA:CPU emulates it, slower). Parameters,
  # optimizer states, the mapping network and styles, normalisation
  # statistics, images, logits, losses and penalties, the w average and G's
  # moving average stay float32. A 6,000-step CPU run in bfloat16 trained
  # behind float32's two seeds (FID 728 against 562 and 599): not yet shown
  # to match (benchmarks/results/stylegan_mnist.md, "bfloat16").
  config.dtype = 'float32'

  # Regularisers. R1 on the reals, gamma / 2 E||grad D||^2, every
  # r1_interval steps (times the interval; >1 is StyleGAN2's lazy R1: an
  # optimizer update of its own after D's main one, with D's lr scaled by
  # c = interval / (interval + 1) and its betas raised to the c).
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

  config.batch_size = 16
  config.num_steps = 25_000
  config.generator_optimizer = default.optimizer_config(0.001, 0.0, 0.99)
  config.discriminator_optimizer = default.optimizer_config(0.001, 0.0, 0.99)

  config.log_every = 500
  config.sample_every = 2_500
  config.checkpoint_every = 2_500
  config.eval_every = 25_000
  config.eval_samples = 10_000
  return config
