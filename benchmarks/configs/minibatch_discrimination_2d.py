"""Minibatch discrimination (Salimans et al. 2016) on the 2-D ring and grid.

  python benchmarks/mode_collapse_2d.py \
      --config=benchmarks/configs/minibatch_discrimination_2d.py --seeds 3

Slow on CPU: the pairwise closeness makes a step about 7 times the cost of
gan_2d.py's. On 2 CPU cores shared with other jobs (2026-11-24) one 2,000-step
run took 463 s (4 steps/s), so the 3-seed command above needs about 45
minutes and has not been run. One seed per dataset (--seeds 1, 19.2 min)
gave ring 8 modes, 24.7% high quality, reverse KL 0.03; grid 15 modes, 6.7%
high quality, reverse KL 0.31
(benchmarks/results/mode_collapse_2d_minibatch_discrimination.md).

D's last maxout features (200) go through a learned tensor T of shape
(200, B, C) to B rows of C numbers per point, and sum_j exp(-||row_i -
row_j||_1) over the other points of the batch is appended, per row, to the
features before the output layer (jaxgan/remedies.py). B = 100 kernels of
C = 5, the values of Salimans et al.'s code (openai/improved-gan) and of
configs/minibatch_discrimination.py: 100 closeness features beside 200
maxout units is a strong but not dominant signal. In multiply-adds the
O(batch^2 B C) term, 100 x 100 x 100 x 5 per pass, is small beside the
400-wide G, but on XLA:CPU its (batch, batch, B, C) element-wise work and
gradient dominate the step (above); a smaller B, C would be cheaper but
further from the published method.
PacGAN's Table 1 row does not give its B and C (PacGAN's code has no 2-D
minibatch-discrimination experiment).
"""

from benchmarks.configs import gan_2d


def get_config():
  config = gan_2d.get_config()
  config.name = 'Minibatch discrimination'
  config.variant = 'minibatch_discrimination'
  config.minibatch_discrimination = 100
  config.minibatch_discrimination_dim = 5
  return config
