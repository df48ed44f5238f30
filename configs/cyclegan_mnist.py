"""CycleGAN on MNIST and an MNIST-M-like domain at 32x32: the preset that trains on a CPU.

  python train.py --config=configs/cyclegan_mnist.py --workdir=runs/cyclegan_mnist

Domain A: MNIST digits (the first half of the training set), padded to
32x32. Domain B: the other half's digits blended onto coloured textures,
the digit's colour inverted against the background (`mnist2textured`, built
from the bundled MNIST). F: B -> A thus has to take a digit off its texture;
it is scored by reading F(b) for the 10,000 test digits of domain B with
jaxgan's MNIST classifier (label accuracy against the digit b shows, and
FID against real test digits).

The networks of configs/cyclegan.py made smaller: 32 filters, 6 residual
blocks, PatchGAN with 32 filters; no identity loss (the domains differ in
channels, which the reference does not allow with it). Everything else is
the paper's.

On 2 CPU cores: about 30 minutes (6,000 steps of batch 1 at 4 to 5.5
steps/s, plus a minute for each of two evaluations of 10,000 images).
At step 6,000 F(b) is MNIST-like (FID 162 against real test digits, from
729 for the untranslated b in gray) but keeps the digit's identity in 56%
of the test images, below the 66% the classifier reads in gray b: in this
short run, translation alone does not preserve the label
(benchmarks/results/cyclegan_mnist.md, 2026-12-01).
"""

from configs import cyclegan
from configs import default


def get_config():
  config = cyclegan.get_config()
  config.data = default.data_config(source='mnist2textured')
  config.data.test_split = 'test'
  config.generator_filters = 32
  config.generator_blocks = 6
  config.discriminator_filters = 32
  config.identity_weight = 0.0
  config.batch_size = 1
  config.num_steps = 6_000
  config.log_every = 100
  config.sample_every = 500
  config.num_samples = 8
  config.checkpoint_every = 500
  config.eval_every = 3_000
  config.eval_samples = 10_000
  return config
