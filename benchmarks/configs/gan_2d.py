"""The 2-D mode-collapse benchmark, GAN row of PacGAN's Table 1.

  python benchmarks/mode_collapse_2d.py --config=benchmarks/configs/gan_2d.py

Ring (8 modes) and grid (25 modes), 10 seeds each, 2,000 steps per run:
19 minutes at ~35 steps/s on 2 CPU cores shared with other jobs (jax
0.10.2). Expect an undertrained GAN; that run gave ring 6.3 +- 0.5 modes,
27.0 +- 4.6% high quality, reverse KL 0.07 +- 0.01, and grid 10.2 +- 0.6
modes, 1.8 +- 0.2% high quality, reverse KL 0.45 +- 0.04. Writes
benchmarks/results/mode_collapse_2d.md and one scatter plot per dataset.

Networks, optimizer and data follow PacGAN's published code
(fjxmlzn/PacGAN, synthetic_data_experiments/2D*_GAN&PacGAN/config.py) except
the length: PacGAN trained 400 epochs of 1,000 steps (400,000 steps).
A variant (PacGAN2, ...) is a new config that imports this one and changes
only what differs.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # Row label in the results table.
  config.name = 'GAN'
  # Which datasets to run: 'ring', 'grid' or 'both'.
  config.dataset = 'both'
  # Independent runs per dataset; the table reports mean and standard error.
  config.num_seeds = 10
  # Train steps per run (one D and one G update each). PacGAN: 400,000.
  config.num_steps = 2_000
  # Train steps per jitted chunk (lax.fori_loop over the step); only speed.
  config.steps_per_chunk = 500
  # Global batch size, as published.
  config.batch_size = 100
  # Size of the fixed training set, as published.
  config.num_train_points = 100_000
  # Seeds of the fixed training sets: the data do not change across runs.
  config.ring_data_seed = 1_000
  config.grid_data_seed = 2_000
  # Samples generated for the evaluation, as published.
  config.num_eval_samples = 2_500
  # Size of z ~ N(0, I), as published.
  config.latent_dim = 2
  # G: hidden ReLU layers with BatchNorm, then a linear map to 2-D.
  config.generator_hidden = (400, 400, 400, 400)
  # G's BatchNorm running-average momentum (PacGAN's update: 0.05 new).
  config.batch_norm_momentum = 0.95
  # D: hidden LinearMaxout layers, no BatchNorm.
  config.discriminator_hidden = (200, 200, 200)
  # Linear pieces per maxout unit.
  config.maxout_pieces = 5
  # Standard deviation of the N(0, s^2) weight initialisation; biases are 0.
  config.init_stddev = 0.02
  # Adam for both networks, as in PacGAN's code (its paper's text is silent
  # on beta1; the code sets 0.8).
  config.learning_rate = 1e-4
  config.b1 = 0.8
  config.b2 = 0.999
  # G's loss: 'non_saturating' (-log D(G(z)), PacGAN's code) or 'minimax'.
  config.generator_loss = 'non_saturating'
  # Where the Markdown table and scatter plots go, relative to the repo root.
  config.results_dir = 'benchmarks/results'
  return config
