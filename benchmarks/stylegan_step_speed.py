"""Times one StyleGAN / StyleGAN2 training step (D then G) on the CPU.

32x32 RGB, fmap_base 2048, fmap_max 128, w_dim 128, an 8-layer mapping,
batch 32, Adam, the non-saturating loss, no regularisers; per-example noise
keys. G runs forward once per G step (the D step uses its own G forward).

  python benchmarks/stylegan_step_speed.py [--steps 10]

Measured on the 2-core development machine while shared (load average 5 to
7), jax 0.10.2: StyleGAN ('adain' G, 'orig' D) 4.9 s per step (median; 212
GFLOP by XLA's count, 43 GFLOP/s), StyleGAN2 ('modulated' skip G, 'resnet'
D) 2.5 s (97 GFLOP, 39 GFLOP/s); compiling each took about 22 s. One
3x3 128 -> 128 conv at 32x32, batch 32, forward and backward reached 49
GFLOP/s under the same load, so the steps are bound by the convolutions'
arithmetic, not by slow paths.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import optax

from jaxgan.families.stylegan import networks

RES, BATCH, W_DIM = 32, 32, 128
NETS = {'fmap_base': 2048, 'fmap_max': 128}


def build(style):
  mapping = networks.MappingNetwork(z_dim=W_DIM, w_dim=W_DIM, num_layers=8)
  synthesis = networks.SynthesisNetwork(RES, 3, style=style, **NETS)
  discriminator = networks.Discriminator(
    RES, 3, architecture='orig' if style == 'adain' else 'resnet', **NETS
  )
  return mapping, synthesis, discriminator


def time_style(style, steps):
  """Prints the sizes, the compile time and the step time of one style's networks."""
  mapping, synthesis, discriminator = build(style)
  key = jax.random.key(0)
  g_params = {
    'mapping': mapping.init(key, jnp.zeros((BATCH, W_DIM)))['params'],
    'synthesis': synthesis.init(key, jnp.zeros((BATCH, synthesis.num_ws, W_DIM)))['params'],
  }
  d_params = discriminator.init(key, jnp.zeros((BATCH, RES, RES, 3)))['params']
  count = lambda p: sum(x.size for x in jax.tree.leaves(p))
  print(
    f'{style}: G {count(g_params):,} parameters (mapping {count(g_params["mapping"]):,}), '
    f'D {count(d_params):,}'
  )
  opt = optax.adam(2e-3, b1=0.0, b2=0.99)

  def generate(g, key):
    zkey, nkey = jax.random.split(key)
    w = mapping.apply({'params': g['mapping']}, jax.random.normal(zkey, (BATCH, W_DIM)))
    ws = networks.broadcast_ws(w, synthesis.num_ws)
    return synthesis.apply({'params': g['synthesis']}, ws, jax.random.split(nkey, BATCH))

  def d_loss(d, g, reals, key):
    fakes = generate(g, key)
    return jnp.mean(
      jax.nn.softplus(discriminator.apply({'params': d}, fakes))
      + jax.nn.softplus(-discriminator.apply({'params': d}, reals))
    )

  def g_loss(g, d, key):
    return jnp.mean(jax.nn.softplus(-discriminator.apply({'params': d}, generate(g, key))))

  def step(state, reals, key):
    g, d, g_opt, d_opt = state
    dkey, gkey = jax.random.split(key)
    updates, d_opt = opt.update(jax.grad(d_loss)(d, g, reals, dkey), d_opt)
    d = optax.apply_updates(d, updates)
    updates, g_opt = opt.update(jax.grad(g_loss)(g, d, gkey), g_opt)
    g = optax.apply_updates(g, updates)
    return g, d, g_opt, d_opt

  state = (g_params, d_params, opt.init(g_params), opt.init(d_params))
  reals = jax.random.uniform(key, (BATCH, RES, RES, 3), minval=-1, maxval=1)
  start = time.perf_counter()
  compiled = jax.jit(step).lower(state, reals, key).compile()
  print(f'  compile: {time.perf_counter() - start:.1f} s')
  cost = compiled.cost_analysis()
  flops = (cost[0] if isinstance(cost, list) else cost)['flops']
  state = jax.block_until_ready(compiled(state, reals, jax.random.key(1)))
  times = []
  for i in range(steps):
    start = time.perf_counter()
    state = jax.block_until_ready(compiled(state, reals, jax.random.key(i + 2)))
    times.append(time.perf_counter() - start)
  times.sort()
  median = times[len(times) // 2]
  print(
    f'  step: median {median * 1e3:.0f} ms, min {times[0] * 1e3:.0f} ms over {steps} steps; '
    f'{flops / 1e9:.0f} GFLOP per step (XLA), {flops / median / 1e9:.0f} GFLOP/s'
  )


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--steps', type=int, default=10)
  args = parser.parse_args()
  for style in ('adain', 'modulated'):
    time_style(style, args.steps)


if __name__ == '__main__':
  main()
