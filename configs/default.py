"""Settings every jaxgan config shares; the model configs import and change them.

Not a run of its own: see configs/gan.py and configs/dcgan.py.
"""

import ml_collections


def optimizer_config(
  learning_rate: float,
  b1: float = 0.9,
  b2: float = 0.999,
  *,
  name: str = 'adam',
  decay: float = 0.99,
) -> ml_collections.ConfigDict:
  """One network's optimizer: 'adam' (b1, b2) or 'rmsprop' (decay).

  Every field is always present, so `--config.discriminator_optimizer.name=
  rmsprop` works on any config; the fields the chosen optimizer does not
  use are ignored.
  """
  return ml_collections.ConfigDict(
    dict(name=name, learning_rate=learning_rate, b1=b1, b2=b2, decay=decay)
  )


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()

  # Data. Any TFDS image dataset with an `image` feature; `bundled_mnist` is
  # real MNIST prepared from the IDX files in data/mnist, offline.
  config.dataset = 'bundled_mnist'
  # Where TFDS keeps prepared datasets; '' is TFDS's default
  # (~/tensorflow_datasets, or $TFDS_DATA_DIR).
  config.data_dir = ''

  # Model: 'gan' (the MLPs of Goodfellow et al. 2014) or 'dcgan'.
  config.model = 'dcgan'
  # DCGAN only: 28 for 28x28 images, 64 for the paper's 64x64 network.
  config.resolution = 28
  # Size of the noise vector z ~ N(0, I).
  config.latent_dim = 100
  # Class-conditional generation (datasets with labels): 'none'; 'concat'
  # (Mirza & Osindero 2014: a label embedding joined to G's z and to D's
  # input); or 'projection' (G as 'concat'; D adds the inner product of a
  # label embedding with its features, Miyato & Koyama 2018).
  config.conditioning = 'none'
  # The adversarial loss: 'non_saturating' (BCE for D, -log D(G(z)) for G),
  # 'minimax' (BCE, log(1 - D(G(z)))), 'least_squares' (LSGAN), 'hinge', or
  # 'wasserstein' (WGAN; needs weight_clip, gradient_penalty or
  # spectral_norm to keep D Lipschitz).
  config.loss = 'non_saturating'
  # D updates per G update, each on its own real batch (5 for WGAN).
  config.critic_steps = 1
  # D's regularisers; 0 or False turns each off.
  config.weight_clip = 0.0  # Clip D's parameters to [-c, c] (WGAN: 0.01).
  config.gradient_penalty = 0.0  # WGAN-GP's lambda (10).
  config.r1_gamma = 0.0  # R1: gamma / 2 * E ||grad_x D(x)||^2 on real data.
  config.spectral_norm = False  # flax's SpectralNorm on every layer of D.
  # DCGAN's D: 'batch_norm' (the paper), 'layer_norm' or 'none'. The
  # gradient penalty and R1 need 'layer_norm' or 'none'.
  config.discriminator_normalization = 'batch_norm'
  # Samples and metrics from a moving average of G's weights with this
  # decay (e.g. 0.999); 0 uses G's weights as trained.
  config.ema_decay = 0.0
  # Remedies for mode collapse; 0, 1 or 'none' turns each off.
  # Minibatch discrimination (Salimans et al. 2016): kernels B and their
  # dimension C, on D's last features.
  config.minibatch_discrimination = 0
  config.minibatch_discrimination_dim = 5
  # Minibatch standard deviation (Karras et al. 2018): group size.
  config.minibatch_stddev = 0
  # PacGAN (Lin et al. 2018): D judges this many samples at once.
  config.packing = 1
  # Feature matching (Salimans et al. 2016) on D's last features: 'none',
  # 'replace' (G's only loss) or 'add' (added to G's adversarial loss).
  config.feature_matching = 'none'
  # dtype of the computation: 'float32' or 'bfloat16'. Parameters and
  # optimizer states stay float32.
  config.dtype = 'float32'
  # Convolutions: 'auto' (XLA:CPU-friendly rewrite on CPU, XLA's own
  # elsewhere), 'fast' or 'xla'. See jaxgan/layers.py.
  config.conv_implementation = 'auto'

  # Training. The batch is global: it is split over every device of every
  # host, so it must divide by the number of devices.
  config.batch_size = 64
  config.num_steps = 10_000
  config.seed = 0
  # Each network has its own optimizer; their learning rates may differ (the
  # two time-scale update rule of Heusel et al. 2017, e.g. D 4e-4, G 1e-4).
  config.generator_optimizer = optimizer_config(2e-4, b1=0.5)
  config.discriminator_optimizer = optimizer_config(2e-4, b1=0.5)

  # What the run writes into its workdir, every so many steps.
  config.log_every = 100  # Losses to TensorBoard and the terminal.
  config.sample_every = 500  # A PNG grid in workdir/samples.
  config.num_samples = 64  # Images in each grid, from one fixed z.
  config.checkpoint_every = 1000  # A checkpoint in workdir/checkpoints.
  config.keep_checkpoints = 3  # How many of the latest to keep.
  # Sample quality (FID, KID, precision/recall, IS in the MNIST classifier's
  # features; see jaxgan/evaluation.py) to TensorBoard and metrics.json,
  # every so many steps and at the end; 0 turns it off. MNIST-like data only.
  config.eval_every = 0
  config.eval_samples = 10_000
  return config
