"""Minibatch standard deviation (Karras et al. 2018) on MNIST.

  python train.py --config=configs/minibatch_stddev.py

The vanilla GAN with one more feature for D's last layer: the standard
deviation of D's features over each group of 4 samples, averaged to one
number (jaxgan/remedies.py). For the DCGAN (--config.model=dcgan) it is
appended to the last feature map as one more channel.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.minibatch_stddev = 4
  return config
