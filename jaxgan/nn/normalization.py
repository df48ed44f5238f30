"""Normalisation options the networks share."""

from typing import Any

import flax.linen as nn
import jax


def maybe_spectral_norm(
  layer: nn.Module, x: jax.Array, *, spectral_norm: bool, train: bool, param_dtype: Any
) -> jax.Array:
  """Applies `layer`, through flax's `nn.SpectralNorm` if asked.

  The wrapped layer keeps its own name and parameters (a checkpoint's params
  do not change with the option); the power iteration's u and sigma go to
  'batch_stats' under '<layer name>_spectral_norm', and are updated only in
  training. A convolution's HWIO kernel is normalised as the
  (k * k * in, out) matrix it reshapes to, the map from one input patch to
  one output position.
  """
  if not spectral_norm:
    return layer(x)
  return nn.SpectralNorm(layer, param_dtype=param_dtype, name=f'{layer.name}_spectral_norm')(
    x, update_stats=train
  )
