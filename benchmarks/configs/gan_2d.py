"""The 2-D mode-collapse benchmark, GAN row of PacGAN's Table 1.

  python benchmarks/mode_collapse_2d.py --config=benchmarks/configs/gan_2d.py

Ring (8 modes) and grid (25 modes), 10 seeds each, 2,000 steps per run,
each run a `train_and_evaluate` of the toy2d family in its own workdir
under runs/mode_collapse_2d/gan/: 15 minutes at ~44 steps/s (compilation
included) on 2 idle CPU cores (jax 0.10.2, 2026-12-01). Expect an
undertrained GAN; that run gave ring 7.6 +- 0.2 modes, 40.3 +- 4.6% high
quality, reverse KL 0.13 +- 0.02, and grid 9.4 +- 1.0 modes, 2.7 +- 1.1%
high quality, reverse KL 0.59 +- 0.08 (before the benchmark ran on the
generic loop, with another batch order: ring 6.3 +- 0.5 modes, grid 10.2
+- 0.6). Writes benchmarks/results/mode_collapse_2d.md and one scatter plot
per dataset.

Networks, optimizer and data follow PacGAN's published code
(fjxmlzn/PacGAN, synthetic_data_experiments/2D*_GAN&PacGAN/config.py) except
the length: PacGAN trained 400 epochs of 1,000 steps (400,000 steps).
A variant (pacgan2_2d.py, wgan_gp_2d.py, ...) imports this one and changes
`name`, `variant` and its option; its row goes to the variant table at the
end of benchmarks/results/mode_collapse_2d.md.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.family = 'toy2d'
  # The benchmark trains one run per dataset and seed, each with
  # config.data.source set to 'ring2d' or 'grid2d' (jaxgan/data/mixtures.py:
  # 100,000 fixed points each, as published).
  config.data = default.data_config('ring2d')

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
  # Where the Markdown table and scatter plots go, relative to the repo root.
  config.results_dir = 'benchmarks/results'

  # Train steps per run (one D and one G update each). PacGAN: 400,000.
  config.num_steps = 2_000
  # Steps per dispatch, as a loop on the device: the host does no work per
  # step, which keeps the timing that of the networks.
  config.steps_per_call = 500
  config.log_every = 500
  config.sample_every = 2_000
  # A run saves at its end, and a run longer than this (--steps) every
  # 10,000 steps, so that one that stops resumes near where it stopped.
  config.checkpoint_every = 10_000
  # The evaluation at the end is the benchmark's figure: mode statistics of
  # 2,500 samples (jaxgan/eval/mode_coverage.py), as published.
  config.eval_every = 2_000
  config.eval_samples = 2_500
  # The scatter plot of the last step shows this many generated points.
  config.num_samples = 2_500
  # Global batch size of each D update, as published. With packing m, D sees
  # batch_size / m packs; PacGAN keeps 100 packs, so its variants use 100 m.
  config.batch_size = 100

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
  # on beta1; the code sets 0.8). Blocks read beta1 as 1 - beta1 until
  # January 2017 (ALI's paper gives beta2 = 1e-3); PacGAN's code is of 2018
  # and asks for Blocks' development version, so 0.8 is the usual beta1.
  config.generator_optimizer = default.optimizer_config(1e-4, b1=0.8, b2=0.999)
  config.discriminator_optimizer = default.optimizer_config(1e-4, b1=0.8, b2=0.999)

  # The classic step's options (configs/gan.py describes each).
  # 'non_saturating' is PacGAN's code; 'wasserstein' needs gradient_penalty.
  config.loss = 'non_saturating'
  config.critic_steps = 1
  config.generator_reuses_fakes = False
  # PacGAN's code updates D and G at once from one forward pass: set both
  # this and generator_reuses_fakes to train as it does.
  config.simultaneous_updates = False
  config.weight_clip = 0.0
  config.gradient_penalty = 0.0
  config.r1_gamma = 0.0
  config.ema_decay = 0.0
  config.packing = 1
  # PacGAN's code runs G once per point of a pack, each pass with BatchNorm
  # statistics of its own: set this to the packing to train as it does.
  config.generator_passes = 1
  config.minibatch_discrimination = 0
  config.minibatch_discrimination_dim = 5
  config.feature_matching = 'none'
  return config


def pacgan_config(packing: int):
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
