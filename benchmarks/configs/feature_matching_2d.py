"""Feature matching (Salimans et al. 2016) on the 2-D ring and grid.

  python benchmarks/mode_collapse_2d.py --config=benchmarks/configs/feature_matching_2d.py \
      --seeds 3

Ring and grid, 3 seeds each, 2,000 steps per run: 4.8 minutes at ~44 steps/s
(compilation included) on 2 CPU cores shared with other jobs (jax 0.10.2,
2026-11-24). That run gave ring 6.3 ± 0.3 modes, 22.9 ± 4.3% high quality,
reverse KL 0.04 ± 0.00, and grid 13.3 ± 2.2 modes, 2.1 ± 0.5% high quality,
reverse KL 0.17 ± 0.04. Writes
benchmarks/results/mode_collapse_2d_feature_matching.md, its scatter plots and
its row of the variant table in benchmarks/results/mode_collapse_2d.md.

G's only loss is ||E f(x) - E f(G(z))||^2, f = D's last maxout layer (200
units), the means over the global batch; D trains as in gan_2d.py. Not a
row of PacGAN's Table 1.
"""

from benchmarks.configs import gan_2d


def get_config():
  config = gan_2d.get_config()
  config.name = 'Feature matching'
  config.variant = 'feature_matching'
  config.feature_matching = 'replace'
  return config
