"""PacGAN (Lin et al. 2018) on MNIST: D judges packs of samples.

  python train.py --config=configs/pacgan.py

The vanilla GAN with D judging m = 2 samples at once, concatenated, all
real or all fake: a G that repeats itself makes packs that look unlike
real ones, so D can punish a lack of variety. D's first layer takes m
images; the batch of 64 makes 32 packs. --config.packing=3 or 4 for
PacGAN3 and PacGAN4 (the batch must divide by m).
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.num_steps = 10_000  # Compared with the vanilla GAN at its step 10,000.
  config.packing = 2
  return config
