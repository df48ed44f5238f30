"""Feature matching (Salimans et al. 2016) on the 2-D ring and grid.

  python benchmarks/mode_collapse_2d.py --config=benchmarks/configs/feature_matching_2d.py \
      --seeds 3

RESULT_PLACEHOLDER

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
