"""DCGAN (Radford et al. 2015) on MNIST: the default run of jaxgan.

  python train.py --config=configs/dcgan.py

G: z(100) -> 7x7x256 -> 14x14x128 -> 28x28x64 -> 28x28x1, transposed 4x4
convolutions with BatchNorm and ReLU, tanh; D: 4x4 stride-2 convolutions with
LeakyReLU(0.2), BatchNorm after the first; N(0, 0.02) weights; Adam 2e-4,
beta1 = 0.5; batch 64.

For the paper's 64x64 network (LSUN, CelebA), on images resized and
center-cropped to 64x64 (a prepared TFDS dataset or any folder of images):
  python train.py --config=configs/dcgan.py --config.resolution=64 \
      --config.data.source=celeb_a --config.data.resize=64 \
      --config.data.center_crop=64
  python train.py --config=configs/dcgan.py --config.resolution=64 \
      --config.data.source=/path/to/images --config.data.resize=64 \
      --config.data.center_crop=64

On 2 CPU cores: about 16 minutes (3,000 steps of batch 64 at about 3.3
steps/s, ten steps per dispatch, and an evaluation every 1,000 steps).
It produces clearly recognisable digits in runs/dcgan/samples/ from about
step 1,500; at step 3,000, FID 116 in the MNIST classifier's features
(10,000 samples; real-vs-real floor 1.9), all 10 digits, precision 0.50,
recall 0.79 (the run's own evaluation, 2026-12-02; 113, 0.51 and 0.80 on
2026-11-24, before its convolutions moved from YNNPACK to Eigen).
"""

from configs import gan


def get_config():
  config = gan.get_config()
  config.model = 'dcgan'
  config.resolution = 28
  config.num_steps = 3_000
  config.log_every = 100
  config.sample_every = 500
  config.checkpoint_every = 500
  config.eval_every = 1000
  # Ten steps per dispatch, one loop on the device, each step on its own
  # batch: on 2 CPU cores a step takes 0.83 times as long as at one step
  # per call (benchmarks/results/speed.md). Every *_every above is a
  # multiple of 10, as any override of them must be.
  config.steps_per_call = 10
  return config
