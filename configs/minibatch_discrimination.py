"""Minibatch discrimination (Salimans et al. 2016) on MNIST.

  python train.py --config=configs/minibatch_discrimination.py

The vanilla GAN with D seeing, for each sample, how close it is to the
others in its batch: D's last features f (256) go through a learned tensor
T to B = 100 rows of C = 5, and sum_j exp(-||row_i - row_j||_1) per row is
appended to f (jaxgan/remedies.py). A batch of near-copies stands out.

Measured (2026-11-24, `python train.py
--config=configs/minibatch_discrimination.py`, alone on 2 CPU cores): 5
minutes; at step 10,000 FID 63 in the MNIST classifier's features (the
vanilla GAN at step 10,000: 100; real-vs-real 1.9), precision 0.78, recall
0.58; the best FID of the unconditional variants at this length (WGAN-GP:
70). See benchmarks/results/mnist_fid.md.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.minibatch_discrimination = 100
  config.minibatch_discrimination_dim = 5
  return config
