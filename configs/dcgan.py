"""DCGAN (Radford et al. 2015) on MNIST: the default run of jaxgan.

  python train.py --config=configs/dcgan.py          # this run, tuned for 2 CPU cores
  python train.py --config=configs/dcgan.py:paper    # the paper's networks and Adam

G: z(100) -> 7x7x256 -> 14x14x128 -> 28x28x64 -> 28x28x1, transposed 4x4
convolutions with BatchNorm and ReLU, tanh; D: 4x4 stride-2 convolutions with
LeakyReLU(0.2), BatchNorm after the first; N(0, 0.02) weights; batch 64.

The default run trains both networks at 3/8 of those widths (G 96-48-24,
D 24-48), with Adam at ten times the paper's rate (2e-3, beta1 0.5, beta2
0.99), takes G's update through the fakes D was just updated on (as
pytorch/examples' DCGAN does: one pass of G a step fewer, a step in 0.77
of the time, and no worse a step on MNIST), and draws its samples and
metrics from a moving average of G (decay 0.999; the average has no
warm-up, so the first grids, at step 1,500, are still a little blurred by
the initial weights). Each change was measured on MNIST at equal steps or
equal wall time (benchmarks/results/mnist_fid.md). 15,000 steps take 0.92
of the step time of the paper's 3,000 (measured interleaved): 16.0 minutes
alone on 2 cores of an AMD EPYC, evaluations at steps 5,000, 10,000 and
15,000 included, against 16.3 for `:paper`. At step 15,000: FID 28.7 in
the MNIST classifier's features (10,000 samples; real-vs-real floor 1.9),
KID 14.4, precision 0.586, recall 0.865 (the run's own evaluation,
2026-12-03).

`:paper` keeps the paper's widths and Adam (2e-4, beta1 = 0.5) and no
average, for 3,000 steps: FID 116 at step 3,000 (16.3 minutes).
It is the network for the paper's 64x64 images (LSUN, CelebA), resized and
center-cropped to 64x64 (a prepared TFDS dataset or any folder of images):
  python train.py --config=configs/dcgan.py:paper --config.resolution=64 \
      --config.data.source=celeb_a --config.data.resize=64 \
      --config.data.center_crop=64
  python train.py --config=configs/dcgan.py:paper --config.resolution=64 \
      --config.data.source=/path/to/images --config.data.resize=64 \
      --config.data.center_crop=64
"""

from configs import gan

RECIPES = ('mnist', 'paper')


def get_config(recipe: str = 'mnist'):
  """The DCGAN config; `recipe` is what follows the file's name after a colon."""
  if recipe not in RECIPES:
    raise ValueError(
      f'configs/dcgan.py:{recipe} is not a recipe of this config. Choose one of '
      f'{", ".join(RECIPES)}, e.g. --config=configs/dcgan.py:paper.'
    )
  config = gan.get_config()
  config.model = 'dcgan'
  config.resolution = 28
  config.log_every = 100
  # Ten steps per dispatch, from configs/gan.py: on 2 CPU cores a DCGAN step
  # takes 0.83 times as long as at one step per call
  # (benchmarks/results/speed.md). Every *_every below is a multiple of 10,
  # as any override of them must be.
  if recipe == 'paper':
    config.num_steps = 3_000
    config.sample_every = 500
    config.checkpoint_every = 500
    config.eval_every = 1000
    return config
  config.generator_width = 0.375
  config.discriminator_width = 0.375
  for optimizer in (config.generator_optimizer, config.discriminator_optimizer):
    optimizer.learning_rate = 2e-3
    optimizer.b2 = 0.99
  config.ema_decay = 0.999
  # G's update goes through the fakes of D's update (pytorch/examples'
  # step): a step in 0.77 of the time, and as good a step on MNIST.
  config.generator_reuses_fakes = True
  config.num_steps = 15_000
  config.sample_every = 1500
  config.checkpoint_every = 1500
  config.eval_every = 5000
  return config
