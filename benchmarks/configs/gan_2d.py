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
A variant (pacgan2_2d.py, wgan_gp_2d.py, ...) imports this one and changes
`name`, `variant` and its option; its row goes to the variant table at the
end of benchmarks/results/mode_collapse_2d.md.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # Row label in the results table.
  config.name = 'GAN'
  # '' for this GAN row; a variant's file-name tag: its report goes to
  # <results_dir>/mode_collapse_2d_<variant>.md and its row to the variant
  # table of <results_dir>/mode_collapse_2d.md.
  config.variant = ''
  # Which datasets to run: 'ring', 'grid' or 'both'.
  config.dataset = 'both'
  # Independent runs per dataset; the table reports mean and standard error.
  config.num_seeds = 10
  # Train steps per run (one D and one G update each). PacGAN: 400,000.
  config.num_steps = 2_000
  # Train steps per jitted chunk (lax.scan over the step); only speed.
  config.steps_per_chunk = 500
  # Global batch size of each D update, as published. With packing m, D sees
  # batch_size / m packs; PacGAN keeps 100 packs, so its variants use 100 m.
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
  # The adversarial loss (jaxgan.losses.ADVERSARIAL_LOSSES): 'non_saturating'
  # (BCE for D, -log D(G(z)) for G, PacGAN's code), 'minimax',
  # 'least_squares', 'hinge' or 'wasserstein' (needs gradient_penalty).
  config.loss = 'non_saturating'
  # D updates per G update, each on its own real batch (WGAN-GP: 5).
  config.critic_steps = 1
  # WGAN-GP's lambda; 0 turns the penalty off. Needs packing 1 and no
  # minibatch discrimination (the penalty is per point).
  config.gradient_penalty = 0.0
  # PacGAN's m: D judges m points at once, concatenated; 1 turns it off.
  config.packing = 1
  # Minibatch discrimination (Salimans et al. 2016) on D's last maxout
  # layer: B kernels (0 turns it off) of dimension C.
  config.minibatch_discrimination = 0
  config.minibatch_discrimination_dim = 5
  # Feature matching on D's last maxout layer: 'none', 'replace' (G's only
  # loss, Salimans et al. 2016) or 'add' (added to G's adversarial loss).
  config.feature_matching = 'none'
  # Where the Markdown table and scatter plots go, relative to the repo root.
  config.results_dir = 'benchmarks/results'
  return config


def pacgan_config(packing: int) -> ml_collections.ConfigDict:
  """PacGAN<m>'s row: D judges packs of m points, 100 packs per update.

  As PacGAN's code (fjxmlzn/PacGAN, 2D*_GAN&PacGAN: batch_size 100 of packs,
  and num_packing z batches of that size), G and the real batch hold 100 m
  points; everything else is this file's GAN row.
  """
  config = get_config()
  config.name = f'PacGAN{packing}'
  config.variant = f'pacgan{packing}'
  config.packing = packing
  config.batch_size = 100 * packing
  return config
