"""Tests of jaxgan/families/stylegan/figures.py and the sample inputs the figures and walks use."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.families.stylegan import figures
from jaxgan.families.stylegan import networks
from tests.test_stylegan_model import Z_DIM
from tests.test_stylegan_model import tiny_stylegan


def test_style_groups_are_the_papers_at_1024_and_lowered_for_small_images():
  # NVlabs' Figure 3: styles 0-3 coarse, 4-7 middle, 8-17 fine.
  assert figures.style_groups(1024) == {
    'coarse': range(0, 4),
    'middle': range(4, 8),
    'fine': range(8, 18),
  }
  # 32x32: 4 and 8 coarse, 16 middle, 32 fine.
  assert figures.style_groups(32) == {
    'coarse': range(0, 4),
    'middle': range(4, 6),
    'fine': range(6, 8),
  }
  assert figures.style_groups(8) == {'middle': range(0, 2), 'fine': range(2, 4)}


class Recorder:
  """A draw that keeps its inputs and returns image i filled with the value i."""

  def __call__(self, inputs):
    self.inputs = jax.tree.map(np.asarray, inputs)
    count = len(inputs['z'])
    return np.broadcast_to(
      np.arange(count, dtype=np.float32)[:, None, None, None], (count, 2, 2, 1)
    )


def test_style_mixing_lays_out_sources_destinations_and_their_mixes():
  # A 32x32 StyleGAN; nothing is compiled, the draw is a recorder.
  gan = tiny_stylegan()
  gan = dataclasses.replace(gan, synthesis=gan.synthesis.clone(resolution=32))
  draw = Recorder()
  cells = figures.style_mixing(gan, draw, seed=0, columns=2)
  inputs = draw.inputs
  rows, columns = 6, 2
  # Drawn: 2 sources, 6 destinations, then 6 x 2 mixes, row by row.
  assert len(inputs['z']) == columns + rows + rows * columns
  sources, destinations = inputs['z'][:2], inputs['z'][2:8]
  np.testing.assert_array_equal(inputs['z'][8:], np.repeat(destinations, columns, axis=0))
  np.testing.assert_array_equal(inputs['mix_z'][8:], np.tile(sources, (rows, 1)))
  assert not inputs['mix_layers'][:8].any()
  # Rows 0-2 take the coarse styles (ws 0-3) from the source, 3-4 the middle, 5 the fine.
  layers = inputs['mix_layers'][8:].reshape(rows, columns, 8)
  expected = [range(0, 4)] * 3 + [range(4, 6)] * 2 + [range(6, 8)]
  for row, taken in enumerate(expected):
    assert [np.flatnonzero(layers[row, c]).tolist() for c in range(columns)] == [list(taken)] * 2
  # Each mix keeps its destination's noise.
  noise = inputs['noise_keys']
  np.testing.assert_array_equal(noise[8:], np.repeat(noise[2:8], columns, axis=0))
  assert len({tuple(k) for k in noise[:8]}) == 8
  # The grid, 3 to a row: a blank corner, the sources; then each destination and its mixes.
  value = cells[:, 0, 0, 0]
  assert value.tolist() == [-1, 0, 1] + sum([[2 + r, 8 + 2 * r, 9 + 2 * r] for r in range(6)], [])


def test_the_truncation_sweep_varies_psi_along_each_row_only():
  draw = Recorder()
  cells = figures.truncation_sweep(tiny_stylegan(), draw, seed=0, rows=3, psis=(1.0, 0.0, -1.0))
  assert len(cells) == 9
  np.testing.assert_array_equal(draw.inputs['psi'], [1, 0, -1] * 3)
  z = draw.inputs['z'].reshape(3, 3, Z_DIM)
  np.testing.assert_array_equal(z, np.repeat(z[:, :1], 3, axis=1))
  assert not np.allclose(z[0, 0], z[1, 0])


@pytest.fixture(scope='module')
def model_and_state():
  gan = tiny_stylegan()
  state = jax.jit(gan.init)(jax.random.key(0))
  # A w_avg away from 0, and noise that shows (its strengths start at 0).
  params = jax.tree_util.tree_map_with_path(
    lambda path, p: p + 0.5 if 'noise' in jax.tree_util.keystr(path) else p,
    state.generator_ema,
  )
  w_avg = np.random.default_rng(0).normal(size=state.w_avg.shape).astype(np.float32)
  return gan, state.replace(generator_ema=params, w_avg=w_avg)


def test_sample_mixes_the_marked_layers_and_walks_straight_in_w(model_and_state):
  gan, state = model_and_state
  rng = np.random.default_rng(1)
  z, other = (rng.normal(size=(2, Z_DIM)).astype(np.float32) for _ in range(2))
  keys = networks.noise_key_data(jax.random.key(2), 0, 2)
  marked = np.zeros((2, gan.num_ws), bool)
  marked[0, 1:3] = True
  t = np.array([0.25, 1.0], np.float32)

  @jax.jit
  def expected(state):
    params = state.generator_ema
    ws, ws_other = gan.mapped_ws(params, z), gan.mapped_ws(params, other)
    noise = jax.random.wrap_key_data(keys, impl='threefry2x32')
    mixed = jnp.where(marked[:, :, None], ws_other, ws)
    walked = ws + t[:, None, None] * (ws_other - ws)
    return gan.synthesize(params, mixed, noise), gan.synthesize(params, walked, noise)

  mixed, walked = expected(state)
  sample = jax.jit(gan.sample)
  got_mixed = sample(state, {'z': z, 'mix_z': other, 'mix_layers': marked, 'noise_keys': keys})
  got_walked = sample(state, {'z': z, 'z_end': other, 't': t, 'noise_keys': keys})
  # Each compiled on its own, so fused and rounded otherwise (3e-6 apart on
  # jax 0.7.2 with the suite's older fusion emitters, tests/conftest.py).
  np.testing.assert_allclose(got_mixed, mixed, rtol=1e-4, atol=1e-5)
  # The walk's arithmetic compiles in another order in `sample` (up to 1.7e-6
  # apart on jax 0.7.2 at -O0 on an AVX2 EPYC, 2026-12-05); a walk in z lands
  # 1.8 away at t = 0.25 on this tiny network.
  np.testing.assert_allclose(got_walked, walked, rtol=1e-4, atol=1e-5)
  # Example 1 mixes nothing and walks all the way: the plain images of z and of other.
  plain = sample(state, {'z': np.stack([z[1], other[1]]), 'noise_keys': np.stack([keys[1]] * 2)})
  np.testing.assert_allclose(got_mixed[1], plain[0], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(got_walked[1], plain[1], rtol=1e-5, atol=1e-6)
  assert not np.allclose(got_mixed[0], plain[0])


def test_truncation_at_psi_0_gives_every_row_the_average_ws_image(model_and_state):
  gan, state = model_and_state
  draw = lambda inputs: np.asarray(jax.jit(gan.sample)(state, inputs))
  cells = figures.truncation_sweep(gan, draw, seed=0, rows=2, psis=(1.0, 0.0)).reshape(2, 2, -1)
  # Noise aside (each row keeps its own), psi = 0 is w_avg's image in both rows.
  no_noise = lambda inputs: draw({k: v for k, v in inputs.items() if k != 'noise_keys'})
  quiet = figures.truncation_sweep(gan, no_noise, seed=0, rows=2, psis=(1.0, 0.0)).reshape(2, 2, -1)
  np.testing.assert_allclose(quiet[0, 1], quiet[1, 1], rtol=1e-5, atol=1e-6)
  at_average = gan.synthesize(
    state.generator_ema, networks.broadcast_ws(state.w_avg[None], gan.num_ws), None
  )
  np.testing.assert_allclose(quiet[0, 1], np.asarray(at_average).reshape(-1), rtol=1e-5, atol=1e-6)
  assert not np.allclose(quiet[0, 0], quiet[1, 0])
  assert not np.allclose(cells[0, 1], quiet[0, 1])
