"""Layers and pieces of networks that the families share."""

import jax.numpy as jnp

# What a family's networks may compute in, by the name a config gives
# (`config.dtype`); parameters and optimizer states stay float32 either way.
DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}
