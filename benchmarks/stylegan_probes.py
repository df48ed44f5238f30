"""Probes of why a small StyleGAN looks collapsed early in training (results/stylegan_mnist.md).

  python benchmarks/stylegan_probes.py --probe=train --config=configs/stylegan.py \
      --steps=20000 --every=2500
  python benchmarks/stylegan_probes.py --probe=fit --config=configs/stylegan.py --steps=1000
  python benchmarks/stylegan_probes.py --probe=mbstd --config=configs/stylegan.py --steps=600
  python benchmarks/stylegan_probes.py --probe=mbstd --config=configs/stylegan.py \
      --config.mbstd_group_size=0 --steps=600

Each takes a StyleGAN config with any `--config.x=y` overrides, and prints one
line per `--every` steps:

* `train`: the family's own train step, data-parallel as train.py runs it,
  from the config's seed. Every report measures G itself, not its moving
  average: the per-pixel standard deviation of 64 images over z (no noise;
  how much G's output still depends on z), and the MNIST classifier's FID,
  precision, recall and KL(digits || uniform) on 1,000 samples.
* `fit`: no D. G (mapping and synthesis, G's optimizer from the config)
  learns to draw 16 real digits from 16 fixed z by mean squared error, no
  noise. It tells whether the w path can make distinct digits at all, and
  how many steps that takes; the reference line is the error of drawing
  the 16 digits' mean image for every z.
* `mbstd`: no G. D (D's optimizer from the config, no R1) learns to tell a
  real batch from a batch of one real digit repeated (a new digit each step,
  plus noise of standard deviation 0.01): only a layer that compares the
  examples of a batch, the minibatch standard deviation, can. It prints D's
  loss and its accuracy on each batch. `--config.mbstd_group_size=0` is the
  control; `--fakes=generator` gives D G's initial samples instead, which
  any D can tell from digits.

The real batches come from the config's data through the library's own
iterator (the bundled MNIST needs no download).
"""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags
from ml_collections import config_flags

from jaxgan import data, parallel
from jaxgan import eval as eval_lib
from jaxgan.train import compilation, evaluation
from jaxgan.train import experiment as experiment_lib
from jaxgan.train import steps as steps_lib

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/stylegan.py', 'A StyleGAN config.')
_PROBE = flags.DEFINE_enum('probe', 'train', ('train', 'fit', 'mbstd'), 'What to measure.')
_STEPS = flags.DEFINE_integer('steps', 400, 'Steps to run.')
_EVERY = flags.DEFINE_integer('every', 100, 'Steps between reports.')
_SAMPLES = flags.DEFINE_integer('samples', 1000, 'Samples per evaluation (train).')
_FAKES = flags.DEFINE_enum(
  'fakes', 'repeated', ('repeated', 'generator'), "mbstd: D's fakes, see above."
)

# Images drawn to measure how much G's output depends on z.
_SPREAD_SAMPLES = 64


def real_batches(experiment, batch_size: int) -> data.BatchIterator:
  """The config's real images as train.py reads them: endless uint8 batches."""
  return data.BatchIterator(
    experiment.streams['real'].spec,
    global_batch_size=batch_size,
    seed=experiment.config.seed,
    with_labels=False,
    process_index=0,
    process_count=1,
  )


def float_batches(experiment, batch_size: int):
  """Endless float batches in [-1, 1] of the config's real images."""
  iterator = real_batches(experiment, batch_size)
  while True:
    yield steps_lib.to_float_images(next(iterator))['image']


def probe_train(experiment):
  model, mesh, config = experiment.model, experiment.mesh, experiment.config
  state = experiment.init(config.seed)
  call = steps_lib.make_train_call(model, mesh, experiment.state_partition)
  iterator = real_batches(experiment, config.batch_size)
  evaluator = eval_lib.make_evaluator(
    experiment.datasets['real'], data_dir=experiment.streams['real'].spec.data_dir
  )
  sample = compilation.jit(model.sample)
  z = jax.random.normal(jax.random.key(config.seed + 1), (_SPREAD_SAMPLES, model.mapping.z_dim))

  def report(step, state, metrics):
    # G itself: the sampler reads the moving average, so hand it G's own parameters.
    raw = state.replace(generator_ema=state.generator_params)
    spread = float(np.asarray(sample(raw, {'z': z})).std(axis=0).mean())
    scores = evaluation.evaluate(
      model, raw, sample, mesh, evaluator, num_samples=_SAMPLES.value, seed=config.seed + 1
    )['metrics']
    losses = ''.join(
      f' {name}={float(metrics[name][0]):.3f}'
      for name in sorted(metrics or {})
      if name in ('discriminator_loss', 'generator_loss', 'd_real', 'd_fake')
    )
    print(
      f'step {step}: spread over z {spread:.3f}, FID {scores["fid"]:.1f}, precision '
      f'{scores["precision"]:.3f}, recall {scores["recall"]:.4f}, KL(digits||uniform) '
      f'{scores["class_kl"]:.3f};{losses}',
      flush=True,
    )

  report(0, state, None)
  for step in range(1, _STEPS.value + 1):
    batch = {key: value[None, None] for key, value in next(iterator).items()}
    state, metrics = call(state, steps_lib.global_batches(mesh, {'real': batch}, 1))
    if step % _EVERY.value == 0:
      report(step, state, metrics)


def probe_fit(experiment):
  model, config = experiment.model, experiment.config
  count = 16
  targets = next(float_batches(experiment, count))
  z = jax.random.normal(jax.random.key(config.seed + 1), (count, model.mapping.z_dim))
  optimizer = model.generator_optimizer
  params = model.init(jax.random.key(config.seed)).generator_params
  opt_state = optimizer.init(params)
  floor = float(jnp.mean(jnp.square(targets - targets.mean(axis=0))))

  @jax.jit
  def step(params, opt_state):
    error = lambda p: jnp.mean(
      jnp.square(model.synthesize(p, model.mapped_ws(p, z), None) - targets)
    )
    value, grads = jax.value_and_grad(error)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value

  for index in range(1, _STEPS.value + 1):
    params, opt_state, value = step(params, opt_state)
    if index % _EVERY.value == 0:
      print(
        f'step {index}: squared error {float(value):.4f} (the mean image: {floor:.4f})', flush=True
      )


def probe_mbstd(experiment):
  model, config = experiment.model, experiment.config
  batch = config.batch_size
  optimizer = model.discriminator_optimizer
  initial = model.init(jax.random.key(config.seed))
  params, generator = initial.discriminator_params, initial.generator_params
  opt_state = optimizer.init(params)
  reals = float_batches(experiment, batch)
  key = jax.random.key(config.seed + 1)

  @jax.jit
  def step(params, opt_state, real, fake):
    def loss(p):
      real_out, fake_out = model.judge(p, real), model.judge(p, fake)
      value = jnp.mean(jax.nn.softplus(fake_out)) + jnp.mean(jax.nn.softplus(-real_out))
      return value, (jnp.mean(real_out > 0), jnp.mean(fake_out < 0))

    (value, accuracy), grads = jax.value_and_grad(loss, has_aux=True)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value, accuracy

  generate = jax.jit(lambda z: model.synthesize(generator, model.mapped_ws(generator, z), None))
  for index in range(1, _STEPS.value + 1):
    step_key = jax.random.fold_in(key, index)
    if _FAKES.value == 'generator':
      fake = generate(jax.random.normal(step_key, (batch, model.mapping.z_dim)))
    else:
      one = next(reals)[:1]
      fake = jnp.broadcast_to(one, (batch,) + one.shape[1:])
      fake = fake + 0.01 * jax.random.normal(step_key, fake.shape)
    params, opt_state, value, (real_right, fake_right) = step(params, opt_state, next(reals), fake)
    if index % _EVERY.value == 0:
      print(
        f'step {index}: D loss {float(value):.3f}, right on reals {float(real_right):.2f}, '
        f'on the fakes {float(fake_right):.2f}',
        flush=True,
      )


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = _CONFIG.value
  experiment = experiment_lib.prepare(config, mesh=parallel.make_data_mesh(jax.local_devices()[:1]))
  started = time.perf_counter()
  {'train': probe_train, 'fit': probe_fit, 'mbstd': probe_mbstd}[_PROBE.value](experiment)
  print(f'{_PROBE.value}: {time.perf_counter() - started:.0f} s', flush=True)


if __name__ == '__main__':
  app.run(main)
