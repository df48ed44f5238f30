"""Settings every jaxgan config shares; the model configs import and change them.

Not a run of its own: see configs/gan.py and configs/dcgan.py.
"""

import ml_collections


def optimizer_config(
  learning_rate: float, b1: float, b2: float = 0.999
) -> ml_collections.ConfigDict:
  """Adam's settings for one network."""
  return ml_collections.ConfigDict(dict(learning_rate=learning_rate, b1=b1, b2=b2))


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
  # G's loss: 'non_saturating' (-log D(G(z))) or 'minimax' (log(1 - D(G(z)))).
  config.generator_loss = 'non_saturating'
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
  # Each network has its own Adam.
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
