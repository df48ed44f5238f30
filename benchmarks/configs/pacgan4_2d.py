"""PacGAN4 on the 2-D ring and grid: PacGAN's Table 1 row, D judging 4 points at once.

  python benchmarks/mode_collapse_2d.py --config=benchmarks/configs/pacgan4_2d.py --seeds 3

Ring and grid, 3 seeds each, 2,000 steps per run: 6.8 minutes at ~30 steps/s
(compilation included) on 2 CPU cores shared with other jobs (jax 0.10.2,
2026-11-24). That run gave ring 6.3 ± 1.2 modes, 2.9 ± 1.1% high quality,
reverse KL 0.01 ± 0.00, and grid 7.3 ± 1.3 modes, 1.6 ± 0.3% high quality,
reverse KL 0.50 ± 0.10. Writes benchmarks/results/mode_collapse_2d_pacgan4.md,
its scatter plots and its row of the variant table in
benchmarks/results/mode_collapse_2d.md.

As PacGAN's code (fjxmlzn/PacGAN, 2D*_GAN&PacGAN: batch_size 100 of packs,
and num_packing z batches of that size), D sees 100 packs of 4 points per
update, so G and the real batch hold 100 x 4 = 400 points; everything else
is gan_2d.py's.
"""

from benchmarks.configs import gan_2d


def get_config():
  return gan_2d.pacgan_config(4)
