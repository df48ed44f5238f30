"""Minibatch standard deviation (Karras et al. 2018) on MNIST.

  python train.py --config=configs/minibatch_stddev.py

The vanilla GAN with one more feature for D's last layer: the standard
deviation of D's features over each group of 4 samples, averaged to one
number (jaxgan/remedies.py). For the DCGAN (--config.model=dcgan) it is
appended to the last feature map as one more channel.

Measured (2026-11-24, `python train.py
--config=configs/minibatch_stddev.py`; 2 CPU cores shared with 2-3 other
jobs, so the time is an upper bound): 8 minutes; at step 10,000 FID 93 in
the MNIST classifier's features (the vanilla GAN at step 10,000: 100; real-
vs-real 1.9), precision 0.79, recall 0.42; within a seed's noise of the
plain GAN. See benchmarks/results/mnist_fid.md.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.minibatch_stddev = 4
  return config
