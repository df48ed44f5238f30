"""Images/s that jaxgan.data delivers, beside the images/s the DCGAN consumes.

Run by hand (never a test); about 6.5 minutes on 2 idle cores:

  python benchmarks/data_speed.py [--rounds 3 --seconds 3]
  python benchmarks/data_speed.py --skip_dcgan  # loaders only

Loaders: `BatchIterator` over bundled MNIST (28x28x1, in memory, batch 64)
and over a generated folder of 2,000 JPEGs (96 high x 80 wide, smooth
random content, quality 90; resize 64 + center crop 64, batch 64), with
num_workers 0, 1 and 2. The `example` rows are the other design of the
grain pipeline: one grain element per example, batched after the workers
(what keeps batches independent of the worker count), against this
library's one element per local batch. Every configuration runs once per
round, in A B C ... then reversed order, for `--rounds` rounds, so that
drift in the machine's load hits all alike; each run times `--seconds` of
batches after 3 warm-up batches. `start` is the time to the first batch
(worker processes are spawned then). Generated data lives in
/tmp/jaxgan_data_speed.

DCGAN: images/s of the jitted train step (batch 64, configs/dcgan.py:paper at
--config.resolution 28 and 64), median of 10 timed steps after 3 warm-up
steps, run after the loaders so that neither competes with the other.

Measured 2026-12-01 on this repo's 2-core CPU development machine (jax
0.10.2, grain 0.2.18, Pillow 13.0.0) with no other job running,
`python benchmarks/data_speed.py --rounds 3 --seconds 3`
(6.5 minutes). images/s: median of the 3 rounds (min-max); start: seconds
to the first batch.

  | data        | element | workers | images/s                  | start |
  | ---         | ---     | ---:    | ---:                      | ---:  |
  | MNIST 28x28 | batch   | 0       | 528,754 (448,453-587,441) | 0.0   |
  | MNIST 28x28 | batch   | 1       | 94,804 (90,191-127,637)   | 2.7   |
  | MNIST 28x28 | batch   | 2       | 106,453 (93,056-122,536)  | 2.6   |
  | MNIST 28x28 | example | 0       | 9,768 (8,704-9,982)       | 0.0   |
  | MNIST 28x28 | example | 2       | 3,747 (3,197-4,320)       | 2.8   |
  | JPEG 64x64  | batch   | 0       | 1,537 (1,215-1,980)       | 0.0   |
  | JPEG 64x64  | batch   | 1       | 1,845 (1,567-2,247)       | 2.4   |
  | JPEG 64x64  | batch   | 2       | 3,411 (2,961-4,178)       | 2.7   |
  | JPEG 64x64  | example | 0       | 1,354 (1,258-1,402)       | 0.1   |
  | JPEG 64x64  | example | 2       | 1,319 (1,223-1,431)       | 2.7   |

  The DCGAN's train call consumes, in the same run: 181 images/s at 28x28
  (2.8 steps/s of 64) and 49 images/s at 64x64 (0.77 steps/s).

Two earlier runs of the loaders, with another job's tests loading the
machine (load average 7 to 11), gave the same ranking at a third to a half
of these figures (MNIST batch/0 workers 388,000-408,000; JPEG batch with 0,
1, 2 workers 734-788, 800-1,016, 760-1,017).

So the loader on its background thread (0 workers) delivers about 2,900x
what the 28x28 DCGAN consumes on MNIST and 31x what the 64x64 DCGAN
consumes on JPEGs; on these 2 cores, where the training step wants both,
that is the default. Worker processes take about 2.5 s to start (each
imports jax through grain); for JPEGs two of them double the rate (what an
accelerator that eats more than ~1,500 images/s per core needs), and for
in-memory MNIST they cost 5x (every batch crosses shared memory). One
grain element per example costs 50x on MNIST (per-element bookkeeping) and
gains nothing on JPEGs.

Where it is used: `DEFAULT_NUM_WORKERS` in jaxgan/data/spec.py and the
module docstring of jaxgan/data/pipeline.py.
"""

import argparse
import dataclasses
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

import grain  # pylint: disable=g-import-not-at-top
import numpy as np
from PIL import Image

from jaxgan import data
from jaxgan.data import pipeline
from jaxgan.data import spec as spec_lib
from jaxgan.data import transforms as transforms_lib

ROOT = '/tmp/jaxgan_data_speed'
BATCH = 64
NUM_JPEGS = 2_000
JPEG_SIZE = (96, 80)  # (height, width)


def make_jpeg_folder(folder: str, count: int = NUM_JPEGS) -> str:
  """Writes `count` smooth random JPEGs into `folder` once; returns it."""
  os.makedirs(folder, exist_ok=True)
  if len([n for n in os.listdir(folder) if n.endswith('.jpg')]) == count:
    return folder
  rng = np.random.default_rng(0)
  height, width = JPEG_SIZE
  for i in range(count):
    # A 12x10 random image upsampled: smooth, so JPEG sizes are realistic
    # (~3 KB) rather than those of white noise.
    coarse = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    image.save(os.path.join(folder, f'{i:05d}.jpg'), quality=90)
  return folder


class _ExampleLoader:
  """Position k of this process's stream -> one transformed example."""

  def __init__(self, source, info, transforms, seed: int):
    self._source, self._info, self._transforms, self._seed = source, info, transforms, seed
    self._steps = info.num_examples // BATCH
    self._permutation = (-1, None)

  def __call__(self, k: int) -> dict:
    batch, j = divmod(k, BATCH)
    epoch, step = divmod(batch, self._steps)
    if self._permutation[0] != epoch:
      self._permutation = (
        epoch,
        pipeline.epoch_permutation(self._seed, epoch, self._info.num_examples),
      )
    index = int(self._permutation[1][step * BATCH + j])
    example = self._source[index]
    rng = (
      transforms_lib.example_rng(self._seed, epoch, index) if self._transforms.is_random else None
    )
    return {'image': transforms_lib.apply(example['image'], self._transforms, rng)}


def _example_iterator(spec: data.DataSpec):
  """The same stream with one grain element per example, batched after the workers."""
  source, info = spec_lib.open_dataset(spec, with_labels=False)
  dataset = grain.MapDataset.range(0, 2**62).map(_ExampleLoader(source, info, spec.transforms, 0))
  if spec.num_workers == 0:
    iterable = dataset.to_iter_dataset(
      grain.ReadOptions(num_threads=1, prefetch_buffer_size=2 * BATCH)
    )
  else:
    iterable = dataset.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=0))
    iterable = iterable.mp_prefetch(
      grain.MultiprocessingOptions(num_workers=spec.num_workers, per_worker_buffer_size=2 * BATCH)
    )
  return iter(iterable.batch(BATCH))


def measure(spec: data.DataSpec, element: str, seconds: float) -> tuple[float, float]:
  """(images/s, seconds to the first batch) of one fresh iterator."""
  start = time.perf_counter()
  if element == 'batch':
    iterator = data.BatchIterator(spec, global_batch_size=BATCH, seed=0, with_labels=False)
  else:
    iterator = _example_iterator(spec)
  try:
    next(iterator)
    startup = time.perf_counter() - start
    for _ in range(3):
      next(iterator)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
      next(iterator)
      count += 1
    rate = count * BATCH / (time.perf_counter() - start)
  finally:
    iterator.close()
  return rate, startup


def dcgan_images_per_second(resolution: int, steps: int = 10) -> float:
  """Images/s of the DCGAN's train call at `resolution` (batch 64), as the loop runs it.

  The batch is uint8 and already on the device, so this times the model
  (with the loop's conversion to [-1, 1]), not the loader.
  """
  # pylint: disable=g-import-not-at-top
  import jax

  from configs import dcgan as dcgan_config
  from jaxgan import families
  from jaxgan import parallel
  from jaxgan.train import steps as steps_lib
  # pylint: enable=g-import-not-at-top

  config = dcgan_config.get_config('paper')
  config.resolution = resolution
  channels = 1 if resolution == 28 else 3
  shape = (resolution, resolution, channels)
  info = data.DatasetInfo('random', shape, None, 60_000, 'image')
  model = families.load('classic').build(config, {'real': info})
  mesh = parallel.make_data_mesh()
  state = jax.jit(model.init)(jax.random.key(0))
  call = steps_lib.make_train_call(model, mesh, model.state_partition(state))
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (1, config.critic_steps, BATCH, *shape), dtype=np.uint8)
  batch = steps_lib.global_batches(mesh, {'real': {'image': images}}, 1)
  times = []
  for i in range(3 + steps):
    start = time.perf_counter()
    state, metrics = call(state, batch)
    jax.block_until_ready((state, metrics))
    if i >= 3:
      times.append(time.perf_counter() - start)
  return BATCH / statistics.median(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--seconds', type=float, default=3.0)
  parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
  parser.add_argument('--skip_dcgan', action='store_true')
  args = parser.parse_args()

  mnist = data.DataSpec(data.BUNDLED_MNIST, data_dir=os.path.join(ROOT, 'tfds'))
  jpegs = data.DataSpec(
    make_jpeg_folder(os.path.join(ROOT, 'jpegs')),
    transforms=data.Transforms(resize=64, center_crop=64),
  )
  data.dataset_info(mnist)  # Prepares bundled MNIST once, outside the timing.
  configs = []
  for name, spec in (('MNIST 28x28', mnist), ('JPEG 64x64', jpegs)):
    for workers in args.workers:
      configs.append((name, 'batch', workers, spec))
    for workers in (0, max(args.workers)):
      configs.append((name, 'example', workers, spec))

  results = {key[:3]: [] for key in configs}
  for round_index in range(args.rounds):
    order = configs if round_index % 2 == 0 else configs[::-1]
    for name, element, workers, spec in order:
      spec = dataclasses.replace(spec, num_workers=workers)
      rate, startup = measure(spec, element, args.seconds)
      results[(name, element, workers)].append((rate, startup))
      print(
        f'round {round_index}: {name} {element} workers={workers}: {rate:,.0f} images/s, '
        f'start {startup:.1f} s',
        flush=True,
      )

  print('\n| data | element | workers | images/s | start |\n| --- | --- | ---: | ---: | ---: |')
  for (name, element, workers), runs in results.items():
    rates = [r for r, _ in runs]
    starts = [s for _, s in runs]
    print(
      f'| {name} | {element} | {workers} | {statistics.median(rates):,.0f} '
      f'({min(rates):,.0f}-{max(rates):,.0f}) | {statistics.median(starts):.1f} |'
    )
  if not args.skip_dcgan:
    for resolution in (28, 64):
      print(f'DCGAN {resolution}x{resolution}: {dcgan_images_per_second(resolution):,.0f} images/s')


if __name__ == '__main__':
  main()
