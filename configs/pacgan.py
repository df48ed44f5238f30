"""PacGAN (Lin et al. 2018) on MNIST: D judges packs of samples.

  python train.py --config=configs/pacgan.py

The vanilla GAN with D judging m = 2 samples at once, concatenated, all
real or all fake: a G that repeats itself makes packs that look unlike
real ones, so D can punish a lack of variety. D's first layer takes m
images; the batch of 64 makes 32 packs. --config.packing=3 or 4 for
PacGAN3 and PacGAN4 (the batch must divide by m).

Measured (2026-11-24, `python train.py --config=configs/pacgan.py`; 2 CPU
cores shared with 2-3 other jobs, so the time is an upper bound): 16
minutes; at step 10,000 FID 196 in the MNIST classifier's features (the
vanilla GAN at step 10,000: 100; real-vs-real 1.9), precision 0.78, recall
0.21; worse than the plain GAN at this length: packing did not help here.
See benchmarks/results/mnist_fid.md.
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.packing = 2
  return config
