"""StyleGAN2 (Karras et al. 2020) on MNIST padded to 32x32, networks scaled down for a CPU.

  python train.py --config=configs/stylegan2.py --workdir=runs/stylegan2

configs/stylegan.py with StyleGAN2's networks and regularisers: modulated
convolutions with weight demodulation, a 'skip' generator (toRGB at every
resolution, summed) and a 'resnet' discriminator; Adam 0.002, betas (0,
0.99); lazy R1 every 16 steps and the path length regulariser (weight 2,
decay 0.01, half the batch) every 4 G steps, each multiplied by its
interval, with NVlabs' lr and beta scaling c = interval / (interval + 1);
style mixing 0.9; G's moving average with StyleGAN2-ADA's ramp-up 0.05.
R1's gamma is 10, StyleGAN's and StyleGAN2's at 1024x1024 FFHQ: measured
on MNIST at this size and length, 0.1, 1, 10 and 100 gave FID 184, 100,
51 and 136 (benchmarks/results/stylegan_mnist.md). StyleGAN2-ADA's
heuristic 0.0002 * resolution^2 / batch (0.0128 here) and its cifar
config's 0.01 are below the 0.1 at which D already won. Sizes as
configs/stylegan.py's: 16 feature maps at every resolution (fmap_base
2048: StyleGAN2 indexes stages by log2 resolution, so this is
configs/stylegan.py's 1024 in StyleGAN's indexing), z and w of 32, batch
16, 25,000 steps.

The cifar-like preset of StyleGAN2-ADA (a 2-layer mapping network, no path
length regulariser, no style mixing) is one flag set away:
  python train.py --config=configs/stylegan2.py --config.mapping_layers=2 \
      --config.path_length_weight=0 --config.mixing_probability=0

On 2 CPU cores alone (2026-12-04, jax 0.10.2, an AVX2-only AMD EPYC):
15.2 steps/s, 27.4 minutes in all. Its evaluation of G's moving average
on 10,000 samples, at seed 0: FID 51.0, precision 0.70, recall 0.11, all
10 digits (KL from uniform 0.024): ahead of configs/stylegan.py (FID
97.7, recall 0.085) at the same size and length, behind the default DCGAN
run (FID 28.7, recall 0.87, in 16 minutes). Seeds 1 and 2 end at FID
122.5 and 37.4, recall 0.009 and 0.126 (seed 1's clean digits of fewer
shapes): the seed moves this run by more than 3x. Like StyleGAN, G
draws few shapes early on (mostly 8s in its grid at step 2,500). On
stacked MNIST (benchmarks/stacked_mnist.py --variant stylegan2) it
captures 188 of the 1000 modes (KL 3.01; 28 at gamma 0.1), behind
configs/stylegan.py's 508 and the DCGAN's 973.
"""

from configs import default
from configs import stylegan


def get_config():
  config = stylegan.get_config()
  config.style = 'modulated'
  config.synthesis_architecture = 'skip'
  config.discriminator_architecture = 'resnet'
  config.fmap_base = 2048
  config.r1_gamma = 10.0  # The best of 0.1, 1, 10 and 100 on MNIST (above).
  config.r1_interval = 16
  config.path_length_weight = 2.0
  config.path_length_interval = 4
  config.mixing_probability = 0.9
  config.ema_rampup = 0.05
  config.generator_optimizer = default.optimizer_config(0.002, 0.0, 0.99)
  config.discriminator_optimizer = default.optimizer_config(0.002, 0.0, 0.99)
  return config
