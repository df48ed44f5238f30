"""Wasserstein GAN (Arjovsky et al. 2017) on MNIST.

  python train.py --config=configs/wgan.py

D is a critic: its raw output estimates the Wasserstein-1 distance through
E[D(x)] - E[D(G(z))], kept 1-Lipschitz (up to a constant) by clipping every
parameter to [-0.01, 0.01] after each update. As in the paper: RMSProp at
5e-5 for both networks, 5 critic updates per G update, each on its own real
batch (inside the one jitted step), batch 64. The vanilla GAN's MLPs.

The paper also trains the critic 100 times per G step for the first 25 G
steps and every 500th; that schedule is left out.
The critic loss (logged as discriminator_loss) is minus the distance
estimate: it should rise towards 0 as G improves.
For the DCGAN critic: --config.model=dcgan (it keeps its BatchNorm, as the
paper's did).

Measured (2026-11-24, `python train.py --config=configs/wgan.py`; 2 CPU
cores shared with 2-3 other jobs, so the time is an upper bound): 25
minutes; at step 10,000 FID 214 in the MNIST classifier's features (the
vanilla GAN at step 10,000: 100; real-vs-real 1.9), precision 0.71, recall
0.50; weight clipping at RMSProp 5e-5 is the slowest learner here. See
benchmarks/results/mnist_fid.md.
"""

from configs import default
from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.loss = 'wasserstein'
  config.weight_clip = 0.01
  config.critic_steps = 5
  config.generator_optimizer = default.optimizer_config(5e-5, name='rmsprop')
  config.discriminator_optimizer = default.optimizer_config(5e-5, name='rmsprop')
  return config
