"""The vanilla GAN of Goodfellow et al. 2014 on MNIST.

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
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model = 'gan'
  config.num_steps = 20_000
  config.log_every = 500
  config.sample_every = 2_000
  config.checkpoint_every = 5_000
  config.eval_every = 5_000
  return config
