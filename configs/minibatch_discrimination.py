"""Minibatch discrimination (Salimans et al. 2016) on MNIST.

  python train.py --config=configs/minibatch_discrimination.py

The vanilla GAN with D seeing, for each sample, how close it is to the
others in its batch: D's last features f (256) go through a learned tensor
T to B = 100 rows of C = 5, and sum_j exp(-||row_i - row_j||_1) per row is
appended to f (jaxgan/remedies.py). A batch of near-copies stands out.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.minibatch_discrimination = 100
  config.minibatch_discrimination_dim = 5
  return config
