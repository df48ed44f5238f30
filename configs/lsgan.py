"""Least squares GAN (Mao et al. 2017) on MNIST.

  python train.py --config=configs/lsgan.py

The vanilla GAN's MLPs and optimizers with the cross-entropy replaced by
least squares on D's raw output: D minimises (D(x) - 1)^2 / 2 + D(G(z))^2
/ 2, G minimises (D(G(z)) - 1)^2 / 2 (the 0-1 coding, a = 0, b = c = 1).
Any loss is an option of any config: --config.loss=hinge, wasserstein
(with a Lipschitz constraint), minimax or non_saturating.

Measured (2026-11-24, `python train.py --config=configs/lsgan.py`; 2 CPU
cores shared with 2-3 other jobs, so the time is an upper bound): 8 minutes;
at step 10,000 FID 97 in the MNIST classifier's features (the vanilla GAN at
step 10,000: 100; real-vs-real 1.9), precision 0.82, recall 0.47; within a
seed's noise of the plain GAN. See benchmarks/results/mnist_fid.md.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.loss = 'least_squares'
  return config
