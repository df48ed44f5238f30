"""CycleGAN (Zhu et al. 2017) at 256x256, with the paper's settings.

  python train.py --config=configs/cyclegan.py \
      --config.data.source=datasets/horse2zebra --workdir=runs/horse2zebra

The data: a folder laid out as the reference's datasets (trainA/, trainB/,
testA/, testB/ of images), or a TFDS dataset with those splits
(--config.data.source=cycle_gan/horse2zebra, prepared beforehand).
Then translate a folder of photos with G (A -> B):
  python translate.py --workdir=runs/horse2zebra --direction=a2b \
      --input=photos/ --output=zebras/

G and F: ResNet generators with 9 residual blocks (11.378 M parameters
each), instance normalisation; D_A and D_B: 70x70 PatchGANs (2.765 M);
least-squares adversarial loss, D's loss halved; cycle loss lambda = 10,
identity loss 0.5 lambda; image pools of 50 fakes; Adam 2e-4, beta1 = 0.5;
batch 1; images loaded at 286, randomly cropped to 256 and flipped. The
learning rate is constant for the first half of training and falls linearly
to zero over the second: the paper's 100 + 100 epochs of horse2zebra
(1,334 steps an epoch, the larger domain's images) are its 266,800 steps.

Time and result: not measured here; 256x256 needs a GPU or TPU (2 CPU
cores run about one step every few seconds). The 32x32 preset that
trains on a CPU, with its measured figures: configs/cyclegan_mnist.py.
"""

import ml_collections

from configs import default


def get_config():
  config = default.get_config()
  config.family = 'cyclegan'

  # One source with CycleGAN's four splits: a folder holding trainA/,
  # trainB/, testA/ and testB/, a TFDS dataset with splits of those names,
  # or 'mnist2textured' (bundled: MNIST and an MNIST-M-like domain).
  # The reference's default preprocessing: resize to 286, random crop 256,
  # random flip. Test images are resized to the crop and centre-cropped.
  config.data = default.data_config(
    source='cycle_gan/horse2zebra', resize=286, random_crop=256, flip=True
  )
  # Training reads split + 'A' and split + 'B' (trainA, trainB); sample
  # grids come from test_split + 'A' and + 'B' (testA, testB).
  config.data.test_split = 'test'

  # The networks (the reference's resnet_9blocks and basic PatchGAN).
  config.generator_filters = 64  # ngf: the first layer's channels.
  config.generator_blocks = 9  # Residual blocks (6 for 128x128 in the paper).
  config.discriminator_filters = 64  # ndf.
  config.discriminator_layers = 3  # Stride-2 layers: 3 gives 70x70 patches.
  # Convolutions: 'auto' (fast rewrite on CPU, XLA's own elsewhere), 'fast', 'xla'.
  config.conv_implementation = 'auto'

  # Losses: the adversarial loss by name ('least_squares', 'non_saturating',
  # 'hinge', ...), each round trip's cycle loss weight (the reference's
  # lambda_A and lambda_B), and the identity loss's weight as a fraction of
  # them (needs both domains in the same channels).
  config.loss = 'least_squares'
  config.cycle_weight_a = 10.0  # lambda_A: |F(G(a)) - a|.
  config.cycle_weight_b = 10.0  # lambda_B: |G(F(b)) - b|.
  config.identity_weight = 0.5
  # Past fakes each discriminator may be shown (0: only the newest).
  config.pool_size = 50

  config.batch_size = 1
  # Held by reference so that the decay below follows --config.num_steps.
  config.num_steps = ml_collections.FieldReference(266_800)
  half = config.get_ref('num_steps') // 2
  config.generator_optimizer = default.optimizer_config(2e-4, 0.5, 0.999, decay_to_zero_steps=half)
  config.discriminator_optimizer = default.optimizer_config(
    2e-4, 0.5, 0.999, decay_to_zero_steps=half
  )

  config.log_every = 100
  config.sample_every = 1000
  config.num_samples = 4  # Test images of each domain in a grid, one pair a row.
  config.checkpoint_every = 5000
  # The sample-quality metrics measure MNIST-like images only.
  config.eval_every = 0
  return config
