"""Feature matching (Salimans et al. 2016) on MNIST.

  python train.py --config=configs/feature_matching.py

The vanilla GAN with G trained to match the batch mean of D's last hidden
features (256) on real and fake data, ||E f(x) - E f(G(z))||^2, in place of
its adversarial loss; D trains as before. --config.feature_matching=add
adds the term to G's non-saturating loss instead.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.feature_matching = 'replace'
  return config
