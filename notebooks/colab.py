# ---
# jupyter:
#   accelerator: TPU
#   colab:
#     name: jaxgan
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: accelerator,colab
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # jaxgan on Colab: train a GAN, look at it, measure it, resume it
#
# This notebook trains one of jaxgan's configs (the DCGAN on MNIST by default)
# with the same loop as `python train.py`, then shows what the run wrote: the
# latest sample grid, TensorBoard, the sample-quality figures of an evaluation,
# and an interpolation between random latents. Its last cell trains again and
# resumes where the first run stopped.
#
# It runs unchanged on a TPU, GPU or CPU runtime (Runtime > Change runtime
# type). On several chips (a Kaggle v5e-8) every batch is split over all of
# them. It uses the jax that the runtime has installed: reinstalling jax
# breaks a TPU runtime, so the first cell never touches jax, jaxlib or libtpu.
#
# With Google Drive mounted (`USE_DRIVE` below), the run's workdir is on Drive:
# a runtime that disconnects loses nothing, and running the notebook again
# resumes from the last checkpoint.
#
# This file is the reviewed source: `notebooks/colab.ipynb` is made from it
# with `jupytext --sync notebooks/colab.py` (a test fails when they differ).

# %% tags=["install"]
# Get the code and what Colab lacks. The constraint file pins the jax,
# jaxlib and libtpu already installed, so pip fails rather than replace them.
import importlib.metadata
import os
import subprocess
import sys

REPOSITORY = 'https://github.com/jaxgan/jaxgan.git'
if not os.path.isfile('train.py'):  # Not yet inside a checkout (a rerun of this cell is).
  if not os.path.isdir('jaxgan'):
    subprocess.run(['git', 'clone', '--depth=1', REPOSITORY, 'jaxgan'], check=True)
  os.chdir('jaxgan')
installed = []
for package in ('jax', 'jaxlib', 'libtpu'):
  try:
    installed.append(f'{package}=={importlib.metadata.version(package)}')
  except importlib.metadata.PackageNotFoundError:
    pass
with open('/tmp/keep_jax.txt', 'w') as constraints:
  constraints.write('\n'.join(installed) + '\n')
subprocess.run(
  [
    sys.executable,
    '-m',
    'pip',
    'install',
    '-q',
    '-r',
    'requirements.txt',
    '-c',
    '/tmp/keep_jax.txt',
  ],
  check=True,
)

# %% [markdown]
# ## What this runtime has
#
# jaxgan trains data-parallel over every local device: each one gets
# `batch_size / device count` examples of a batch, and gradients are averaged
# across them.

# %%
import logging

import jax

from jaxgan.train import reporting

# The loop reports through Python's logging (evaluations, resumes); a
# notebook shows INFO lines only once asked to. Orbax's and TFDS's own
# lines stay hidden, as under train.py.
logging.basicConfig(level=logging.INFO, format='%(message)s', force=True)
reporting.quiet_library_logs()

print(f'jax {jax.__version__} on {jax.default_backend()}: {jax.device_count()} device(s)')
for device in jax.devices():
  print(' ', device)

# %% tags=["parameters"]
CONFIG = 'dcgan'  # a file of configs/: gan, dcgan, cgan, wgan_gp, sngan, stylegan, ...
NUM_STEPS = 0  # steps of the first run; 0 keeps the config's own (13,500 for dcgan)
MORE_STEPS = 500  # how much further the last cell trains, resuming
USE_DRIVE = True  # on Colab, keep the run on Google Drive
WORKDIR = ''  # '' means runs/<CONFIG>, under Drive when it is mounted
OVERRIDES = {}  # any other config fields, e.g. {'batch_size': 128, 'data.data_dir': '/data'}

# %%
import importlib
import importlib.util

from etils import epath
from IPython import display

from jaxgan.train import loop
from jaxgan.train import saved_runs
from jaxgan.train import steps
from jaxgan.train import workdir as workdir_lib

if not WORKDIR:
  WORKDIR = f'runs/{CONFIG}'
  if USE_DRIVE and 'google.colab' in sys.modules:
    from google.colab import drive

    drive.mount('/content/drive')
    WORKDIR = f'/content/drive/MyDrive/jaxgan/{WORKDIR}'

config = importlib.import_module(f'configs.{CONFIG}').get_config()
if NUM_STEPS:
  config.num_steps = NUM_STEPS
config.update_from_flattened_dict(OVERRIDES)
per_device, remainder = divmod(config.batch_size, jax.device_count())
if remainder:
  raise ValueError(
    f'batch_size {config.batch_size} does not split over {jax.device_count()} devices; '
    f"set OVERRIDES['batch_size'] to a multiple of {jax.device_count()}."
  )
print(f'{CONFIG}: {config.num_steps} steps of batch {config.batch_size} ({per_device} per device)')
print(f'workdir: {WORKDIR}')

# %% [markdown]
# ## Train
#
# The same call as `python train.py --config=configs/$CONFIG.py`: it writes
# checkpoints, sample grids, TensorBoard events and evaluations into the
# workdir, and resumes from it when it already holds this run.

# %%
state = loop.train_and_evaluate(config, WORKDIR)

# %% [markdown]
# ## The latest sample grid
#
# Drawn every `config.sample_every` steps from the same fixed latents, so
# grids of successive steps show one set of samples improving.

# %%
run = workdir_lib.Workdir(WORKDIR)
latest_grid = max(run.samples.glob('*.png'))  # step_NNNNNNN.png
print(latest_grid.name)
display.display(display.Image(data=latest_grid.read_bytes()))

# %% [markdown]
# ## TensorBoard
#
# Losses, steps per second, the evaluation figures under `eval/`, and the
# sample grids.

# %%
if importlib.util.find_spec('tensorboard') is not None:
  from tensorboard import notebook as tensorboard_notebook

  tensorboard_notebook.start(f'--logdir "{run.tensorboard}"')
else:
  print(f'TensorBoard is not installed here; its events are in {run.tensorboard}.')

# %% [markdown]
# ## Evaluate the run
#
# For MNIST-like data: classifier FID, KID, precision, recall and the digits
# covered, measured on samples of the latest checkpoint with jaxgan's MNIST
# classifier, beside the same figures for real digits against real digits
# (the floor a perfect generator would reach). The figures go to the
# workdir's `metrics.json` too.

# %%
report = saved_runs.evaluate_checkpoint(WORKDIR)
rows = ['| figure | samples | real digits |', '| --- | ---: | ---: |']
for name, value in report['metrics'].items():
  rows.append(f'| {name} | {value:.4g} | {report["real_vs_real"].get(name, float("nan")):.4g} |')
display.display(display.Markdown('\n'.join(rows)))

# %% [markdown]
# ## An interpolation
#
# Walks through the latent space that loop back to where they start: the
# frames as an animated GIF, and as a strip with one walk per row (for a
# conditional GAN, one row per class).

# %%
animation, strip = saved_runs.interpolate_checkpoint(
  WORKDIR, output=f'{WORKDIR}/interpolation.gif', walks=4
)
display.display(display.Image(data=epath.Path(animation).read_bytes()))

# %% [markdown]
# ## Train further: the run resumes
#
# Raising the number of steps and calling the loop again picks the run up at
# its latest checkpoint, with the optimizer, the data order and the random
# keys where they were; the result equals one uninterrupted run. The same
# happens after a disconnect: run the notebook again.

# %%
first_run_steps = config.num_steps
config.num_steps = first_run_steps + MORE_STEPS
state = loop.train_and_evaluate(config, WORKDIR)
print(f'resumed at step {first_run_steps}, now at step {steps.step_of(state)}')
