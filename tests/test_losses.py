"""Tests of the adversarial losses on cases with a known answer."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.losses import adversarial as losses


def logit(p):
  return jnp.log(p) - jnp.log1p(-p)


def test_worked_example():
  # D(x) = 0.9 on real data, D(G(z)) = 0.1 on fakes.
  real, fake = logit(jnp.array([0.9])), logit(jnp.array([0.1]))
  # -log 0.9 - log(1 - 0.1) = 2 * 0.10536
  np.testing.assert_allclose(losses.discriminator_loss(real, fake), 0.2107, atol=1e-4)
  # -log 0.1
  np.testing.assert_allclose(losses.non_saturating_generator_loss(fake), 2.3026, atol=1e-4)
  # log(1 - 0.1)
  np.testing.assert_allclose(losses.minimax_generator_loss(fake), np.log(0.9), atol=1e-6)


@pytest.mark.parametrize('p_real,p_fake', [(0.5, 0.5), (0.7, 0.2), (0.01, 0.99)])
def test_matches_probability_form(p_real, p_fake):
  real = logit(jnp.full((4,), p_real))
  fake = logit(jnp.full((4,), p_fake))
  np.testing.assert_allclose(
    losses.discriminator_loss(real, fake), -np.log(p_real) - np.log(1 - p_fake), rtol=1e-5
  )
  np.testing.assert_allclose(losses.non_saturating_generator_loss(fake), -np.log(p_fake), rtol=1e-5)
  np.testing.assert_allclose(losses.minimax_generator_loss(fake), np.log(1 - p_fake), rtol=1e-5)


def test_at_equilibrium_discriminator_loss_is_log_4():
  # D = 1/2 everywhere: V(D, G) = -log 4 (Goodfellow et al. 2014, Theorem 1).
  zeros = jnp.zeros((8,))
  np.testing.assert_allclose(losses.discriminator_loss(zeros, zeros), np.log(4.0), rtol=1e-6)


@pytest.mark.parametrize(
  'loss_fn',
  [
    lambda l: losses.discriminator_loss(l, -l),
    lambda l: losses.discriminator_loss(-l, l),
    losses.non_saturating_generator_loss,
    losses.minimax_generator_loss,
  ],
  ids=['d_confident_right', 'd_confident_wrong', 'non_saturating', 'minimax'],
)
def test_finite_values_and_gradients_at_extreme_logits(loss_fn):
  logits = jnp.array([-100.0, -30.0, 0.0, 30.0, 100.0])
  value, grad = jax.jit(jax.value_and_grad(loss_fn))(logits)
  chex.assert_tree_all_finite((value, grad))


def test_gradients_saturate_as_the_paper_says():
  # Early in training D rejects fakes confidently (logit -10). The minimax
  # loss then gives G almost no gradient; the non-saturating one gives a
  # gradient of order one.
  fake = jnp.array([-10.0])
  minimax = jax.grad(losses.minimax_generator_loss)(fake)
  non_saturating = jax.grad(losses.non_saturating_generator_loss)(fake)
  assert abs(float(minimax[0])) < 1e-4
  assert abs(float(non_saturating[0])) > 0.99


# ---------------------------------------------------------------------------
# Losses on raw outputs: least squares, hinge, Wasserstein, feature matching.


@pytest.mark.parametrize(
  'real,fake,d_loss,g_loss',
  [
    # 0.5 * mean(0, 1) + 0.5 * mean(0, 1); 0.5 * mean(1, 0).
    ([1.0, 0.0], [0.0, 1.0], 0.5, 0.25),
    # 0.5 * (3 - 1)^2 + 0.5 * (-2)^2; 0.5 * (-2 - 1)^2.
    ([3.0], [-2.0], 4.0, 4.5),
    # Equilibrium, D = 1/2 everywhere (Mao et al. 2017): 0.25 and 0.125.
    ([0.5, 0.5], [0.5, 0.5], 0.25, 0.125),
  ],
  ids=['mixed', 'single', 'equilibrium'],
)
def test_least_squares_known_values(real, fake, d_loss, g_loss):
  real, fake = jnp.array(real), jnp.array(fake)
  np.testing.assert_allclose(
    jax.jit(losses.least_squares_discriminator_loss)(real, fake), d_loss, rtol=1e-6
  )
  np.testing.assert_allclose(jax.jit(losses.least_squares_generator_loss)(fake), g_loss, rtol=1e-6)


@pytest.mark.parametrize(
  'real,fake,d_loss,g_loss',
  [
    # relu(1 - real) = (0, 0.5, 2), mean 5/6; relu(1 + fake) = (0, 1, 2), mean 1.
    ([2.0, 0.5, -1.0], [-2.0, 0.0, 1.0], 5.0 / 6.0 + 1.0, 1.0 / 3.0),
    # Both beyond the margin: no discriminator loss.
    ([1.0, 5.0], [-1.0, -5.0], 0.0, 3.0),
    # D(x) = D(G(z)) = 0: one from each hinge.
    ([0.0], [0.0], 2.0, 0.0),
  ],
  ids=['mixed', 'beyond_margin', 'zero'],
)
def test_hinge_known_values(real, fake, d_loss, g_loss):
  real, fake = jnp.array(real), jnp.array(fake)
  np.testing.assert_allclose(
    jax.jit(losses.hinge_discriminator_loss)(real, fake), d_loss, rtol=1e-6
  )
  np.testing.assert_allclose(
    jax.jit(losses.hinge_generator_loss)(fake), g_loss, rtol=1e-6, atol=1e-7
  )


def test_hinge_gives_no_gradient_beyond_the_margin():
  grad_real, grad_fake = jax.grad(losses.hinge_discriminator_loss, argnums=(0, 1))(
    jnp.array([2.0, 0.0]), jnp.array([-2.0, 0.0])
  )
  # d/dreal mean(relu(1 - real)) = -1/2 inside the margin, 0 beyond it.
  np.testing.assert_allclose(grad_real, [0.0, -0.5])
  np.testing.assert_allclose(grad_fake, [0.0, 0.5])


@pytest.mark.parametrize(
  'real,fake,critic_loss,g_loss',
  [
    # mean(-1, 0) - mean(1, 3) = -0.5 - 2; -mean(-1, 0).
    ([1.0, 3.0], [-1.0, 0.0], -2.5, 0.5),
    # Identical outputs: the estimated distance is zero.
    ([0.7, -0.2], [0.7, -0.2], 0.0, -0.25),
  ],
  ids=['separated', 'identical'],
)
def test_wasserstein_known_values(real, fake, critic_loss, g_loss):
  real, fake = jnp.array(real), jnp.array(fake)
  np.testing.assert_allclose(
    jax.jit(losses.wasserstein_critic_loss)(real, fake), critic_loss, rtol=1e-6, atol=1e-7
  )
  np.testing.assert_allclose(jax.jit(losses.wasserstein_generator_loss)(fake), g_loss, rtol=1e-6)


@pytest.mark.parametrize(
  'real,fake,expected',
  [
    # Means (2, 3) and (1, 1): ||(1, 2)||^2.
    ([[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [2.0, 2.0]], 5.0),
    # Equal means but different samples: the *means* match, so zero. A
    # per-sample squared difference would give 1.
    ([[1.0], [-1.0]], [[0.0], [0.0]], 0.0),
    # Batches of different sizes, features of shape (2, 2): means (1, 0; 0, 0)
    # and (0, 0; 0, 2): 1 + 4.
    ([[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 3.0]]], 5.0),
  ],
  ids=['vectors', 'equal_means', 'different_batches_2d_features'],
)
def test_feature_matching_known_values(real, fake, expected):
  value = jax.jit(losses.feature_matching_loss)(jnp.array(real), jnp.array(fake))
  chex.assert_shape(value, ())
  np.testing.assert_allclose(value, expected, rtol=1e-6)


@pytest.mark.parametrize(
  'loss_fn',
  [
    lambda o: losses.least_squares_discriminator_loss(o, -o),
    losses.least_squares_generator_loss,
    lambda o: losses.hinge_discriminator_loss(o, -o),
    lambda o: losses.hinge_discriminator_loss(-o, o),
    losses.hinge_generator_loss,
    lambda o: losses.wasserstein_critic_loss(o, -o),
    losses.wasserstein_generator_loss,
    lambda o: losses.feature_matching_loss(o[:, None], -o[::-1, None]),
  ],
  ids=[
    'ls_d',
    'ls_g',
    'hinge_d_right',
    'hinge_d_wrong',
    'hinge_g',
    'wgan_critic',
    'wgan_g',
    'feature_matching',
  ],
)
def test_raw_output_losses_finite_at_extreme_outputs(loss_fn):
  outputs = jnp.array([-1e6, -100.0, -1.0, 0.0, 1.0, 100.0, 1e6, 3.0])
  value, grad = jax.jit(jax.value_and_grad(loss_fn))(outputs)
  chex.assert_shape(value, ())
  chex.assert_tree_all_finite((value, grad))


# ---------------------------------------------------------------------------
# Every loss by name is the right way round: one gradient step on it moves D
# and G in the directions the game asks for. Finite values do not show this; a
# sign error or swapped arguments would still give finite values.

# Real data around +mean, fakes around -mean: symmetric about the origin, so
# for a linear critic every loss's D step raises D(real) and lowers D(fake)
# (for least squares the fake term's gradient is ~0 at D = 0 and D(fake) falls
# only through the shared weights, by lr * (|mean|^2 - 1) > 0 for this mean).
# Drawn once with NumPy, so that the test compiles nothing but the steps.
_RNG = np.random.default_rng(0)
_MEAN = np.array([2.0, 2.0], np.float32)
_REAL = (_MEAN + 0.5 * _RNG.standard_normal((64, 2))).astype(np.float32)
_FAKE = (-_MEAN + 0.5 * _RNG.standard_normal((64, 2))).astype(np.float32)
_NOISE = _RNG.standard_normal((64, 2)).astype(np.float32)
# D starts near 0 (small weights, zero bias): inside every hinge margin and
# where the sigmoid is steepest, so no loss is in a flat region.
_CRITIC_INIT = {'w': (0.01 * _RNG.standard_normal(2)).astype(np.float32), 'b': np.float32(0.0)}
# G's samples start near the origin, where the fixed D below outputs ~0.
_GENERATOR_INIT = {
  'a': (0.1 * _RNG.standard_normal((2, 2))).astype(np.float32),
  'c': np.zeros(2, np.float32),
}
_FIXED_CRITIC = {'w': np.array([2.0, 2.0], np.float32), 'b': np.float32(0.0)}
_LEARNING_RATE = 0.01
# The steps move the means by 0.04 to 0.17: D's by lr * 2 |mean|^2 = 0.16 for
# Wasserstein, G's by about lr * |w|^2 * |dloss/dD| = 0.08 * 0.5 for the
# cross-entropy losses and 0.08 * 1 for the others. A loss of the wrong sign
# moves them as far the other way.
_MARGIN = 0.02


def _critic(params, x):
  """A linear critic, x @ w + b, one raw output (logit or score) per row."""
  return x @ params['w'] + params['b']


def _generator(params, z):
  """An affine generator, z @ a + c."""
  return z @ params['a'] + params['c']


def _sgd(params, grads):
  return jax.tree.map(lambda p, g: p - _LEARNING_RATE * g, params, grads)


def _one_step_changes(loss):
  """How one SGD step on each player's loss moves D's mean outputs.

  Args:
    loss: an `AdversarialLoss`.

  Returns:
    The change in mean D(real) and in mean D(fake) after one step of D on
    `loss.discriminator`, and the change in mean D(G(z)) after one step of G
    on `loss.generator` with D fixed.
  """

  def mean_outputs(critic, generator):
    return (
      jnp.mean(_critic(critic, _REAL)),
      jnp.mean(_critic(critic, _FAKE)),
      jnp.mean(_critic(_FIXED_CRITIC, _generator(generator, _NOISE))),
    )

  @jax.jit
  def changes(critic, generator):
    critic_grads = jax.grad(
      lambda p: loss.discriminator(_critic(p, _REAL), _critic(p, _FAKE))
    )(critic)
    generator_grads = jax.grad(
      lambda p: loss.generator(_critic(_FIXED_CRITIC, _generator(p, _NOISE)))
    )(generator)
    before = mean_outputs(critic, generator)
    after = mean_outputs(_sgd(critic, critic_grads), _sgd(generator, generator_grads))
    return tuple(a - b for a, b in zip(after, before))

  return changes(_CRITIC_INIT, _GENERATOR_INIT)


@pytest.mark.parametrize('name', sorted(losses.ADVERSARIAL_LOSSES))
def test_one_step_moves_each_player_the_right_way(name):
  """D's step separates real from fake; G's step raises D on its samples.

  Checked by hand: with either loss of any name negated (e.g.
  `loss._replace(discriminator=lambda r, f: -loss.discriminator(r, f))`, or
  the same for `generator`), or with D's arguments swapped, the assertions
  below fail for all five names.
  """
  real_change, fake_change, generator_change = _one_step_changes(losses.ADVERSARIAL_LOSSES[name])
  assert float(real_change) > _MARGIN
  assert float(fake_change) < -_MARGIN
  assert float(generator_change) > _MARGIN
