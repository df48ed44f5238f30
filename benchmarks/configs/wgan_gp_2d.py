"""WGAN-GP (Gulrajani et al. 2017) on the 2-D ring and grid.

  python benchmarks/mode_collapse_2d.py --config=benchmarks/configs/wgan_gp_2d.py --seeds 3

Run with --seeds 2 --steps 2000 on 2026-11-24 (20.1 min, about 5 minutes per
run on 2 CPU cores shared with other jobs): ring 2.5 +- 1.5 modes, 0.2%
high quality, reverse KL 0.51; grid 15.5 +- 6.5 modes, 2.1% high quality,
reverse KL 0.23 (benchmarks/results/mode_collapse_2d_wgan_gp.md). The
3-seed command above has not been run.

The Wasserstein loss on D's raw output, lambda = 10 times (||grad D(x_hat)||
- 1)^2 on points between real and fake, 5 D updates per G update, each on
its own real batch of 100, Adam 1e-4 with betas (0, 0.9): the paper's
Algorithm 1 defaults. The MaxoutDiscriminator has no BatchNorm, so the
per-point penalty is valid as it stands. The paper's own toy script
(igul222/improved_wgan_training, gan_toy.py) ran its 8- and 25-Gaussian
sets with lambda 0.1, Adam betas (0.5, 0.9) and batch 256 on other
networks; we keep the defaults above and PacGAN's networks. Not a row of
PacGAN's Table 1. Each step costs about 5 D updates, so it is several
times slower than gan_2d.py's.
"""

from benchmarks.configs import gan_2d
from configs import default


def get_config():
  config = gan_2d.get_config()
  config.name = 'WGAN-GP'
  config.variant = 'wgan_gp'
  config.loss = 'wasserstein'
  config.gradient_penalty = 10.0
  config.critic_steps = 5
  config.generator_optimizer = default.optimizer_config(1e-4, b1=0.0, b2=0.9)
  config.discriminator_optimizer = default.optimizer_config(1e-4, b1=0.0, b2=0.9)
  return config
