"""Spectral normalisation, hinge loss, two time-scales and a G average on MNIST.

  python train.py --config=configs/sngan.py

The regularisers of the modern recipe, on the vanilla GAN's MLPs: every
layer of D spectrally normalised (flax's SpectralNorm, one power iteration
per step; Miyato et al. 2018) with the hinge loss; D's learning rate four
times G's (the two time-scale update rule of Heusel et al. 2017: 4e-4 and
1e-4, Adam betas (0, 0.9)); and samples and metrics from an exponential
moving average of G's weights (decay 0.999).

Also an option of any config: the R1 penalty on real data (Mescheder et
al. 2018), --config.r1_gamma=10 (D must judge each sample alone: for
DCGAN add --config.discriminator_normalization=layer_norm).

Measured (2026-11-24, `python train.py --config=configs/sngan.py`; 2 CPU
cores shared with 2-3 other jobs, so the time is an upper bound): 7 minutes;
at step 10,000 FID 84 in the MNIST classifier's features (the vanilla GAN at
step 10,000: 100; real-vs-real 1.9), precision 0.75, recall 0.61; samples
and metrics from the moving average of G. See
benchmarks/results/mnist_fid.md.
"""

from configs import default
from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.loss = 'hinge'
  config.spectral_norm = True
  config.ema_decay = 0.999
  config.generator_optimizer = default.optimizer_config(1e-4, b1=0.0, b2=0.9)
  config.discriminator_optimizer = default.optimizer_config(4e-4, b1=0.0, b2=0.9)
  return config
