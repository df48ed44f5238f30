"""PacGAN3 on the 2-D ring and grid: PacGAN's Table 1 row, D judging 3 points at once.

  python benchmarks/mode_collapse_2d.py --config=benchmarks/configs/pacgan3_2d.py --seeds 3

RESULT_PLACEHOLDER

As PacGAN's code (fjxmlzn/PacGAN, 2D*_GAN&PacGAN: batch_size 100 of packs,
and num_packing z batches of that size), D sees 100 packs of 3 points per
update, so G and the real batch hold 100 x 3 = 300 points; everything else
is gan_2d.py's.
"""

from benchmarks.configs import gan_2d


def get_config():
  config = gan_2d.get_config()
  config.name = 'PacGAN3'
  config.variant = 'pacgan3'
  config.packing = 3
  config.batch_size = 100 * config.packing
  return config
