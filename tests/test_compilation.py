"""Tests of jaxgan.train.compilation: the XLA options jaxgan compiles with."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.nn import convolutions
from jaxgan.train import compilation


def _train_step_like(x, kernel):
  """A convolution's forward pass and both gradients, as a train step runs them."""

  def loss(x, kernel):
    return jnp.sum(jnp.tanh(convolutions.conv2d(x, kernel, stride=2, padding=1)) ** 2)

  return jax.grad(loss, argnums=(0, 1))(x, kernel)


def _inputs():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((8, 14, 14, 16)), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal((4, 4, 16, 32)) * 0.05, jnp.float32)
  return x, kernel


@pytest.fixture
def fresh_options(monkeypatch):
  """compiler_options() read anew, and again after the test."""
  compilation.compiler_options.cache_clear()
  yield monkeypatch
  compilation.compiler_options.cache_clear()


def _convolutions_in_library_fusions(compiled_text: str) -> int:
  """How many of XLA:CPU's library fusions ('ynn_fusion...') hold a convolution."""
  bodies = {}
  for block in compiled_text.split('\n\n'):
    name = re.match(r'%?([\w.\-]+) ', block.strip())
    if name:
      bodies[name.group(1)] = block
  called = re.findall(r'%?ynn_fusion[\w.]* = .*?calls=%?([\w.\-]+)', compiled_text)
  return sum('convolution(' in bodies.get(name, '') for name in called)


def test_on_the_cpu_convolutions_leave_the_library_fusions_and_values_stay(fresh_options):
  fresh_options.delenv('XLA_FLAGS', raising=False)
  options = compilation.compiler_options()
  if compilation._CPU_LIBRARY_FUSIONS_OPTION not in options:
    pytest.skip("this XLA has no library fusions' option")
  x, kernel = _inputs()
  default = jax.jit(_train_step_like).lower(x, kernel).compile().as_text()
  ours = compilation.jit(_train_step_like).lower(x, kernel).compile().as_text()
  assert _convolutions_in_library_fusions(default) > 0
  assert _convolutions_in_library_fusions(ours) == 0
  # Dot products keep the library: the option removes convolutions only.
  assert 'INDIVIDUAL_DOT' in options[compilation._CPU_LIBRARY_FUSIONS_OPTION]
  for a, b in zip(
    jax.jit(_train_step_like)(x, kernel), compilation.jit(_train_step_like)(x, kernel)
  ):
    # Eigen and YNNPACK sum in different orders: equal to float rounding.
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * float(jnp.max(jnp.abs(a))))


def test_a_users_xla_flags_win(fresh_options):
  fresh_options.setenv(
    'XLA_FLAGS', '--xla_cpu_experimental_ynn_fusion_type= --xla_cpu_use_xnnpack=true'
  )
  assert compilation.compiler_options() == {}


def test_xnnpack_is_turned_off_only_where_it_computed_wrong(fresh_options):
  fresh_options.delenv('XLA_FLAGS', raising=False)
  options = compilation.compiler_options()
  wrong = jax.__version_info__ < compilation.FIRST_JAX_RIGHT_WITH_XNNPACK
  # jaxlib 0.7.2 knows the option; a newer jaxlib may not.
  assert (options.get(compilation._CPU_XNNPACK_OPTION) is False) == wrong


def test_jit_passes_its_arguments_on(fresh_options):
  fresh_options.delenv('XLA_FLAGS', raising=False)
  add = compilation.jit(lambda a, b: a + b, donate_argnums=0)
  donated = jnp.ones(3)
  np.testing.assert_array_equal(add(donated, jnp.ones(3)), 2 * np.ones(3))
  assert donated.is_deleted()


@pytest.mark.parametrize('backend', ['cpu', 'tpu'])
@pytest.mark.parametrize('version', [(0, 7, 2), (0, 10, 2)])
def test_the_state_is_copied_only_on_the_cpu_below_jax_0_8_3(monkeypatch, backend, version):
  monkeypatch.setattr(jax, 'default_backend', lambda: backend)
  monkeypatch.setattr(jax, '__version_info__', version)
  # jaxlib 0.7.2's XLA:CPU computed a wrong step from a donated state: a
  # copy there. A TPU or GPU runs no XLA:CPU code (none was lent to look
  # for the fault there): Colab's TPU runtime donates.
  wrong = backend == 'cpu' and version == (0, 7, 2)
  assert compilation.donate_argnums(0) == (() if wrong else (0,))
