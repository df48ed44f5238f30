"""Least squares GAN (Mao et al. 2017) on MNIST.

  python train.py --config=configs/lsgan.py

The vanilla GAN's MLPs and optimizers with the cross-entropy replaced by
least squares on D's raw output: D minimises (D(x) - 1)^2 / 2 + D(G(z))^2
/ 2, G minimises (D(G(z)) - 1)^2 / 2 (the 0-1 coding, a = 0, b = c = 1).
Any loss is an option of any config: --config.loss=hinge, wasserstein
(with a Lipschitz constraint), minimax or non_saturating.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.loss = 'least_squares'
  return config
