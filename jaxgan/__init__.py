"""jaxgan: the classic GAN family in JAX and Flax, written as pure functions."""

import jax

# Measured (issue 13): on jax 0.7.2 and 0.8.0 the train step's first update
# differs from 0.8.3's and 0.10.2's, and the learning tests fail (the
# vanilla GAN gets worse than at initialisation), while every loss at step 1
# is the same. Until the cause is found and fixed, refuse those versions
# rather than train wrong. 0.8.1 and 0.8.2 were not measured.
_FIRST_RIGHT_JAX = (0, 8, 3)


def _version(text: str) -> tuple[int, ...]:
  return tuple(int(part) for part in text.split('.')[:3] if part.isdigit())


if _version(jax.__version__) < _FIRST_RIGHT_JAX:
  raise ImportError(
    f'jaxgan trains wrongly on jax {jax.__version__} (its updates differ from jax 0.8.3 '
    'and later; see issue 13). Install jax 0.8.3 or newer: pip install -U "jax>=0.8.3".'
  )
