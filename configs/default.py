"""The fields of the training loop, which every config shares; families add their own.

Not a run of its own: see configs/gan.py (the classic family's options, and
the vanilla GAN) and the configs that import it.
"""

import ml_collections


def optimizer_config(
  learning_rate: float,
  b1: float = 0.9,
  b2: float = 0.999,
  *,
  name: str = 'adam',
  decay: float = 0.99,
  warmup_steps: int = 0,
  decay_to_zero_steps: int = 0,
) -> ml_collections.ConfigDict:
  """One network's optimizer (jaxgan/train/optimizers.py).

  Every field is always present, so `--config.discriminator_optimizer.name=
  rmsprop` works on any config; the fields the chosen optimizer does not
  use are ignored.

  Args:
    learning_rate: the peak rate.
    b1: Adam's first-moment decay.
    b2: Adam's second-moment decay.
    name: 'adam' or 'rmsprop' (PyTorch's form, eps outside the root).
    decay: RMSProp's moving-average weight.
    warmup_steps: the rate rises linearly from 0 over the first N steps.
    decay_to_zero_steps: the rate falls linearly to 0 over the last N steps
      of the run (CycleGAN: half of them). 0 and 0: a constant rate.
  """
  return ml_collections.ConfigDict(
    dict(
      name=name,
      learning_rate=learning_rate,
      b1=b1,
      b2=b2,
      decay=decay,
      warmup_steps=warmup_steps,
      decay_to_zero_steps=decay_to_zero_steps,
    )
  )


def data_config(source: str = 'bundled_mnist', **transforms) -> ml_collections.ConfigDict:
  """What to train on, and how to prepare each image (jaxgan/data/).

  Args:
    source: a TFDS dataset name (prepared in `data_dir`; `bundled_mnist`
      is real MNIST from the repo's own files, offline), `stacked_mnist`,
      a folder of PNG/JPEG images (a path: `/...`, `./...`, `~/...`,
      `gs://...`; class subfolders are the labels of a conditional GAN), or
      `ring2d`/`grid2d` (the 2-D mixtures of the mode-collapse benchmark).
    **transforms: any of the fields below, to change from their defaults.
  """
  config = ml_collections.ConfigDict()
  config.source = source
  # Where TFDS keeps prepared datasets; '' is TFDS's default
  # (~/tensorflow_datasets, or $TFDS_DATA_DIR).
  config.data_dir = ''
  config.split = 'train'
  # Applied in this order; 0 or False leaves each out. Channels: 1 (grey),
  # 3 (RGB), 0 as stored (a folder's images become RGB).
  config.channels = 0
  config.resize = 0  # The shorter side to this many pixels.
  config.center_crop = 0  # A centred square of this side.
  config.random_crop = 0  # A square of this side at a random place.
  config.pad = 0  # Zero-padded (black) to a centred square of this side.
  config.flip = False  # Mirror left-right with probability 1/2.
  # Processes that decode images in parallel; 0 decodes on a thread of the
  # training process, which keeps up with every model on 2 CPU cores
  # (benchmarks/data_speed.py). Raise it for JPEGs feeding an accelerator.
  # Batches are the same for every value, so it may change on a resume.
  config.num_workers = 0
  config.update(transforms)
  return config


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # The GAN family (a package in jaxgan/families/): 'classic' (configs/gan.py
  # lists its options) or 'toy2d' (benchmarks/configs/gan_2d.py).
  config.family = ''
  config.data = data_config()

  # Training. The batch is global: it is split over every device of every
  # host, so it must divide by the number of devices.
  config.batch_size = 64
  config.num_steps = 10_000
  config.seed = 0
  # Train steps per dispatch from the host, run as a loop on the devices.
  # More keeps a GPU busy on a small model; every *_every below must be a
  # multiple of it.
  config.steps_per_call = 1
  # A step that produced a non-finite value (NaN or inf) in the state or its
  # losses, found by a check fused into every step: 'halt' stops the run
  # before anything non-finite is saved, keeping every good checkpoint;
  # 'skip' drops that step's update, counts it in TensorBoard
  # (skipped_steps), and halts after 100 bad steps in a row.
  config.nonfinite = 'halt'
  # Start a new run from the parameters of another run's latest checkpoint
  # (its workdir): what a changed network or optimizer cannot resume from.
  # Arrays of the same name and shape are taken; the optimizers' states and
  # the step start afresh. Only read when this run has no checkpoint yet.
  config.init_from = ''

  # What the run writes into its workdir, every so many steps.
  config.log_every = 100  # Losses to TensorBoard and the terminal.
  config.sample_every = 500  # A PNG grid in workdir/samples.
  config.num_samples = 64  # Samples in each grid, from fixed inputs.
  config.checkpoint_every = 1000  # A checkpoint in workdir/checkpoints.
  config.keep_checkpoints = 3  # How many of the latest to keep.
  # Sample quality (for MNIST-like images FID, KID, precision/recall, IS in
  # the MNIST classifier's features; for the 2-D mixtures the modes covered;
  # see jaxgan/eval/) to TensorBoard and metrics.json, every so many steps
  # and at the end; 0 turns it off.
  config.eval_every = 0
  config.eval_samples = 10_000
  return config
