"""Feature matching (Salimans et al. 2016) on MNIST.

  python train.py --config=configs/feature_matching.py

The vanilla GAN with G trained to match the batch mean of D's last hidden
features (256) on real and fake data, ||E f(x) - E f(G(z))||^2, in place of
its adversarial loss; D trains as before. --config.feature_matching=add
adds the term to G's non-saturating loss instead.

Measured (2026-11-24, `python train.py
--config=configs/feature_matching.py`; 2 CPU cores shared with 2-3 other
jobs, so the time is an upper bound): 7 minutes; at step 10,000 FID 162 in
the MNIST classifier's features (the vanilla GAN at step 10,000: 100; real-
vs-real 1.9), precision 0.79, recall 0.39. See
benchmarks/results/mnist_fid.md.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.feature_matching = 'replace'
  return config
