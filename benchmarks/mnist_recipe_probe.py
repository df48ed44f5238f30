"""Probes a classic config's recipe on MNIST: FID of G and of moving averages of it, as it trains.

  python benchmarks/mnist_recipe_probe.py --config=configs/dcgan.py:paper \
      --config.generator_width=0.5 --config.discriminator_width=0.5 \
      --config.generator_optimizer.learning_rate=2e-3 \
      --config.discriminator_optimizer.learning_rate=2e-3 --steps=3000 --report=1500

Trains the config's step on one device, `steps_per_call` steps per call as
the loop runs it, on real MNIST (no checkpoints, samples or logs), for
`--steps` steps or, with `--minutes`, for that much training time (the
clock stops while it measures). Every `--report` steps (or `--every`
minutes) it prints the classifier FID / precision / recall of `--samples`
samples (a fixed z) from:

- G with its BatchNorm running statistics (what the loop samples);
- moving averages of G's weights kept here on the host, one per decay of
  `--emas`, each with the usual warm-up (decay min(d, (1 + t) / (10 + t))),
  sampled with BatchNorm statistics of the sampled batch itself ('batch')
  and, with `--running_statistics`, with G's running statistics ('run'),
  which is what the family's own `config.ema_decay` does.

So one run compares several averages of the same G. Used for
benchmarks/results/mnist_fid.md's probes of the default DCGAN run; the
figures there are of 5,000 samples, against the loop's 10,000.
"""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from ml_collections import config_flags  # noqa: E402
import numpy as np  # noqa: E402

from jaxgan import data  # noqa: E402
from jaxgan import eval as eval_lib  # noqa: E402
from jaxgan import parallel  # noqa: E402
from jaxgan.train import experiment as experiment_lib  # noqa: E402
from jaxgan.train import loop  # noqa: E402
from jaxgan.train import steps as steps_lib  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/dcgan.py', 'A classic config.')
_STEPS = flags.DEFINE_integer('steps', 3000, 'Steps to train (unless --minutes).')
_REPORT = flags.DEFINE_integer('report', 1500, 'Steps between reports (a multiple of 10).')
_MINUTES = flags.DEFINE_float('minutes', 0.0, 'If > 0: train this many minutes instead.')
_EVERY = flags.DEFINE_float('every', 5.0, 'With --minutes: minutes of training between reports.')
_SAMPLES = flags.DEFINE_integer('samples', 5000, 'Samples per FID (multiple of 1,000).')
_EMAS = flags.DEFINE_list('emas', ['0.99', '0.999'], 'Decays of the host-side averages.')
_RUNNING = flags.DEFINE_bool(
  'running_statistics', False, "Also sample each average with G's running statistics."
)


def main(argv):
  del argv
  config = _CONFIG.value
  mesh = parallel.make_data_mesh(jax.local_devices()[:1])
  experiment = experiment_lib.prepare(config, mesh=mesh)
  model = experiment.model
  state = experiment.init(config.seed)
  call = steps_lib.make_train_call(model, mesh, experiment.state_partition)
  spec = experiment.streams['real'].spec
  iterators = {
    'real': data.BatchIterator(
      spec,
      global_batch_size=config.batch_size,
      seed=config.seed,
      with_labels=False,
      process_index=0,
      process_count=1,
    )
  }
  evaluator = eval_lib.make_evaluator(experiment.datasets['real'], data_dir=spec.data_dir)
  # G outside the step's shard_map, its BatchNorm over the batch it is given.
  generator = model.generator.clone(batch_norm_axis_name=None)
  z = jax.random.normal(jax.random.key(12345), (_SAMPLES.value, config.latent_dim))
  per_call = config.steps_per_call
  decays = [float(d) for d in _EMAS.value]

  @jax.jit
  def sample_running(params, batch_stats, z):
    return generator.apply({'params': params, 'batch_stats': batch_stats}, z, train=False)

  @jax.jit
  def sample_batch(params, batch_stats, z):
    variables = {'params': params, 'batch_stats': batch_stats}
    return generator.apply(variables, z, train=True, mutable=['batch_stats'])[0]

  @jax.jit
  def average(averaged, new, decay):
    return jax.tree.map(lambda a, n: decay * a + (1 - decay) * n, averaged, new)

  def figures(sample, params, batch_stats) -> str:
    images = np.concatenate(
      [np.asarray(sample(params, batch_stats, z[i : i + 1000])) for i in range(0, len(z), 1000)]
    )
    m = evaluator(images)
    return f'{m["fid"]:.1f}/{m["precision"]:.2f}/{m["recall"]:.2f}'

  averages = {d: jax.tree.map(jnp.copy, state.generator_params) for d in decays}
  step, trained, next_report = 0, 0.0, _EVERY.value * 60

  def done() -> bool:
    return trained >= _MINUTES.value * 60 if _MINUTES.value else step >= _STEPS.value

  print('step minutes | FID/precision/recall of G, then of each average', flush=True)
  while not done():
    start = time.perf_counter()
    local = loop.next_call_batches(iterators, experiment, per_call)
    state, metrics = call(state, steps_lib.global_batches(mesh, local, 1))
    step += per_call
    for d in decays:
      # One update per call, of the decay's per_call-th power.
      warm = min(d, (1 + step) / (10 + step)) ** per_call
      averages[d] = average(averages[d], state.generator_params, jnp.float32(warm))
    jax.block_until_ready(averages)
    trained += time.perf_counter() - start
    if _MINUTES.value:
      due = trained >= next_report or done()
      next_report += _EVERY.value * 60 if due else 0
    else:
      due = step % _REPORT.value == 0 or done()
    if due:
      stats = state.generator_batch_stats
      line = f'step {step} {trained / 60:.1f} | G {figures(sample_running, state.generator_params, stats)}'
      for d in decays:
        line += f' | avg {d} batch {figures(sample_batch, averages[d], stats)}'
        if _RUNNING.value:
          line += f' run {figures(sample_running, averages[d], stats)}'
      metrics = jax.device_get(metrics)
      line += f' | D loss {float(metrics["discriminator_loss"][-1]):.2f}'
      print(line, flush=True)


if __name__ == '__main__':
  app.run(main)
