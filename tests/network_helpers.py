"""Helpers the network tests share (test_classic_mlp.py, test_classic_dcgan.py): init, apply, power iteration."""

import jax
import jax.numpy as jnp


def init(module, *args):
  return module.init(jax.random.key(0), *args, train=False)


def apply_train(module, variables, *args):
  """Training-mode logits, new batch stats and the sown features."""
  logits, updates = module.apply(
    variables, *args, train=True, mutable=['batch_stats', 'intermediates']
  )
  return logits, updates.get('batch_stats', {}), updates['intermediates']['features'][0]


def power_iterate(discriminator, variables, images, *, steps):
  """`steps` training-mode calls (one power-iteration step each), in one jitted loop.

  Returns the variables after them, and the logits of the last call.
  """

  def body(_, carry):
    batch_stats, _ = carry
    logits, batch_stats, _ = apply_train(
      discriminator, {'params': variables['params'], 'batch_stats': batch_stats}, images
    )
    return batch_stats, logits

  initial = (variables['batch_stats'], jnp.zeros((images.shape[0],)))
  batch_stats, logits = jax.jit(lambda c: jax.lax.fori_loop(0, steps, body, c))(initial)
  return {'params': variables['params'], 'batch_stats': batch_stats}, logits
