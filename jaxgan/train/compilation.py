"""How jaxgan compiles its computations: `jax.jit` with XLA options chosen per backend.

On XLA:CPU (jax 0.10), convolutions go by default to YNNPACK, one of the
CPU's "library fusions". For GAN shapes the library is slower than XLA's
own Eigen convolutions: with it, the default DCGAN's train step took 1.25
times as long, StyleGAN2's 1.16, StyleGAN's and CycleGAN's 1.02
(benchmarks/results/speed.md, interleaved on 2 cores). Matrix products and
reductions stay with YNNPACK, which is faster for them. So a train or
sampling call, or the metrics' classifier, compiled here on the CPU keeps
XLA's default library fusions less convolutions.

Below jax 0.8.3, jaxgan also turns off XLA:CPU's XNNPACK, with which jaxlib
0.7.2 (Colab's) computes wrong values now and then.

The options are passed per compilation, not through XLA_FLAGS, so importing
jaxgan changes nothing else in the process. A user's own setting of either
in XLA_FLAGS (`--xla_cpu_experimental_ynn_fusion_type=...`,
`--xla_cpu_use_xnnpack=...`) wins: then that option is not passed. An XLA
without an option (older or newer jaxlib) gets none either.

`donate_argnums` drops the donation of a train call's state where it was
measured to compute a wrong step: XLA:CPU below jax 0.8.3.
"""

import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

# XLA:CPU's library fusions: its default set less INDIVIDUAL_CONVOLUTION.
_CPU_LIBRARY_FUSIONS_OPTION = 'xla_cpu_experimental_ynn_fusion_type'
_CPU_LIBRARY_FUSIONS = 'LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE'
# jaxlib 0.7.2's XLA:CPU now and then computes wrong values when it runs
# matrix products with XNNPACK: a donated state's step (issue 13), and a
# sampler's draw from a train call's state in 34 of 223 runs of a test
# (tests/test_loop.py), where the state's values copied on the device drew
# right. Without XNNPACK, none of 45 such runs drew wrong (25 with
# XLA_FLAGS, 20 with the option below), and the donated step was the
# undonated one bit for bit (2026-12-07). So jaxgan compiles without it
# on the jax versions that donated wrong (the same fault, as far as
# measured).
_CPU_XNNPACK_OPTION = 'xla_cpu_use_xnnpack'


@functools.cache
def compiler_options() -> dict[str, Any]:
  """The XLA options jaxgan compiles with on the default backend ({} for none).

  Read once per process, on first use (after the backend has started).
  """
  if jax.default_backend() != 'cpu':
    return {}
  options = {}
  if jax.__version_info__ < FIRST_JAX_RIGHT_WITH_XNNPACK:
    options.update(_known_options({_CPU_XNNPACK_OPTION: False}))
  options.update(_known_options({_CPU_LIBRARY_FUSIONS_OPTION: _CPU_LIBRARY_FUSIONS}))
  return options


def _known_options(options: dict[str, Any]) -> dict[str, Any]:
  """`options` if this XLA compiles with them and XLA_FLAGS sets none of them, else {}."""
  if any(name in os.environ.get('XLA_FLAGS', '') for name in options):
    return {}  # The user's choice.
  try:
    jax.jit(lambda x: x + 1, compiler_options=options).lower(np.float32(0)).compile()
  except Exception:  # noqa: BLE001 - an XLA that does not know the option or its values.
    return {}
  return options


# The oldest jax whose XLA:CPU computed right with XNNPACK. On jax 0.7.2
# (Colab's preinstalled stack) a donated state's step computed wrong
# parameters on the CPU: two steps of configs/gan.py with donation differed
# from the same two steps without it by 117% of the largest parameter,
# while a checkpoint save between them (which holds the buffers, so nothing
# is donated) gave the undonated result exactly. The bound is where issue
# 13's bisection of that wrong step found jax right (0.7.2 and 0.8.0 wrong,
# 0.8.3 right). With XNNPACK off (above), a donated step was right there
# too, but the fault comes and goes with the machine: on an AVX-512 EPYC
# the donated step was right in 12 of 12 runs with XNNPACK on
# (2026-12-07). So below this version the CPU still copies the state.
FIRST_JAX_RIGHT_WITH_XNNPACK = (0, 8, 3)


def donate_argnums(*argnums: int) -> tuple[int, ...]:
  """`argnums` where donating them computes the right step, else () (a copy of each).

  Everywhere but on XLA:CPU below jax 0.8.3. The faults above were
  XLA:CPU's, and came with XNNPACK, a library of XLA:CPU's alone: on a TPU
  or GPU the state is donated on every version, so Colab's TPU runtime
  holds one copy of it, not two (not measured there: no TPU was lent).
  """
  if jax.default_backend() != 'cpu' or jax.__version_info__ >= FIRST_JAX_RIGHT_WITH_XNNPACK:
    return argnums
  return ()


def jit(fun: Callable[..., Any], **kwargs) -> Callable[..., Any]:
  """`jax.jit(fun, **kwargs)` compiled with `compiler_options()`."""
  options = compiler_options()
  if options:  # Only then, so that a jax.jit without the argument works as well.
    kwargs['compiler_options'] = options
  return jax.jit(fun, **kwargs)
