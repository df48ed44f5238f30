"""The vanilla GAN of Goodfellow et al. 2014 on MNIST, and the classic family's options.

  python train.py --config=configs/gan.py

G: z(100) -> 128 -> 256 -> 512 -> 1024 -> 784, BatchNorm and LeakyReLU(0.2),
tanh; D: 784 -> 512 -> 256 -> 1, LeakyReLU(0.2); binary cross-entropy,
non-saturating G loss (--config.loss=minimax for the paper's
saturating form). Adam 2e-4, beta1 = 0.5, batch 64.

On 2 CPU cores: about 7 minutes (20,000 steps of batch 64 at 76 steps/s,
and an evaluation every 5,000 steps).
It produces recognisable, somewhat noisy digits in runs/gan/samples/; at
step 20,000, FID 44 in the MNIST classifier's features (real-vs-real floor
1.9), precision 0.83, recall 0.58, and a Parzen-window test log-likelihood
of 195 +- 1.6 nats (the paper: 225 +- 2); see benchmarks/results/.

Every option of the classic family is here with its default (off); the
other classic configs import this file and change what differs.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.family = 'classic'

  # Model: 'gan' (the MLPs of Goodfellow et al. 2014) or 'dcgan'.
  config.model = 'gan'
  # DCGAN only: 28 for 28x28 images, 64 for the paper's 64x64 network.
  config.resolution = 28
  # Multipliers of each layer's width in G and in D (DCGAN's channels, the
  # MLPs' units): 1.0 builds the published networks, 0.5 half as wide.
  config.generator_width = 1.0
  config.discriminator_width = 1.0
  # Size of the noise vector z ~ N(0, I).
  config.latent_dim = 100
  # Class-conditional generation (data with labels): 'none'; 'concat'
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
  # False: G's update draws fresh z and runs G again (Algorithm 1 of
  # Goodfellow et al. 2014). True: it takes its gradient through the fakes
  # D was just updated on, from the same pass of G (pytorch/examples'
  # DCGAN); one pass of G a step fewer. Needs critic_steps = 1.
  config.generator_reuses_fakes = False
  # True (with generator_reuses_fakes): G's gradient goes through D as it
  # was before this step's D update, so both take the gradients of one
  # forward pass and step at once (simultaneous gradient descent, as ALI's
  # and PacGAN's code train). False: through the D just updated.
  config.simultaneous_updates = False
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
  # G makes each batch in this many passes, each normalised with BatchNorm
  # statistics of its own; with packing m, m passes put one point of each
  # pack in each pass, as PacGAN's code runs G.
  config.generator_passes = 1
  # Feature matching (Salimans et al. 2016) on D's last features: 'none',
  # 'replace' (G's only loss) or 'add' (added to G's adversarial loss).
  config.feature_matching = 'none'
  # dtype of the computation: 'float32' or 'bfloat16' (for GPUs and TPUs).
  # Parameters, optimizer states, BatchNorm statistics and losses stay
  # float32; the default DCGAN reaches the same FID in either
  # (benchmarks/results/mnist_fid.md).
  config.dtype = 'float32'
  # Convolutions: 'auto' (XLA:CPU-friendly rewrite on CPU, XLA's own
  # elsewhere), 'fast' or 'xla'. See jaxgan/nn/convolutions.py.
  config.conv_implementation = 'auto'
  # Each network has its own optimizer; their learning rates may differ (the
  # two time-scale update rule of Heusel et al. 2017, e.g. D 4e-4, G 1e-4).
  config.generator_optimizer = default.optimizer_config(2e-4, b1=0.5)
  config.discriminator_optimizer = default.optimizer_config(2e-4, b1=0.5)

  config.num_steps = 20_000
  config.log_every = 500
  config.sample_every = 2_000
  config.checkpoint_every = 5_000
  config.eval_every = 5_000
  # Ten steps per dispatch, run as one loop on the device, each step on its
  # own batch: on 2 CPU cores the MLP GAN's step takes about 0.92 times as
  # long as at one step a call (benchmarks/results/speed.md), and the
  # configs built on this one inherit it. Every *_every above must be a
  # multiple of it; --config.steps_per_call=1 trains a step per dispatch.
  config.steps_per_call = 10
  return config
