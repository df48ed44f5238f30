"""The theory of Goodfellow et al. 2014, section 4, as code.

For a fixed generator, the discriminator maximising
  V(D, G) = E_{p_data}[log D(x)] + E_{p_g}[log(1 - D(x))]
is D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Proposition 1), and at that
discriminator V(D*, G) = -log 4 + 2 JS(p_data || p_g) (Theorem 1), so the
generator's objective is minimised exactly when p_g = p_data.

These functions give the quantities on the right-hand sides: KL and JS
divergences of discrete distributions and of Gaussians, the optimal
discriminator and the value of the game at it. All are jnp functions, usable
under `jit` and `grad`; divergences are in nats.
"""

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import rel_entr

ArrayLike = jax.typing.ArrayLike

LOG_4 = math.log(4.0)


# ---------------------------------------------------------------------------
# Discrete distributions.
# ---------------------------------------------------------------------------


def kl_divergence(p: ArrayLike, q: ArrayLike, *, axis: int = -1) -> jax.Array:
  """KL(p || q) = sum p log(p / q) for probability vectors.

  Terms with p = 0 contribute 0 (0 log 0 = 0); a term with p > 0 and q = 0
  makes the divergence +inf, as it should.

  Args:
    p: probabilities along `axis`, summing to 1.
    q: probabilities of the same shape.
    axis: the axis holding the outcomes.

  Returns:
    The divergence, with `axis` reduced.
  """
  return jnp.sum(rel_entr(jnp.asarray(p), jnp.asarray(q)), axis=axis)


def js_divergence(p: ArrayLike, q: ArrayLike, *, axis: int = -1) -> jax.Array:
  """Jensen-Shannon divergence 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2.

  Symmetric, finite, and at most log 2, reached by disjoint supports.

  Args:
    p: probabilities along `axis`, summing to 1.
    q: probabilities of the same shape.
    axis: the axis holding the outcomes.

  Returns:
    The divergence, with `axis` reduced.
  """
  p = jnp.asarray(p)
  q = jnp.asarray(q)
  m = 0.5 * (p + q)
  return 0.5 * kl_divergence(p, m, axis=axis) + 0.5 * kl_divergence(q, m, axis=axis)


# ---------------------------------------------------------------------------
# The optimal discriminator and the value of the game.
# ---------------------------------------------------------------------------


def optimal_discriminator(p_data: ArrayLike, p_g: ArrayLike) -> jax.Array:
  """D*(x) = p_data(x) / (p_data(x) + p_g(x)), Proposition 1.

  Args:
    p_data: data density (or probability) at the points of interest.
    p_g: generator density at the same points.

  Returns:
    D* at each point. Where both densities are 0, D* is not determined by
    the objective; 1/2 is returned there.
  """
  p_data = jnp.asarray(p_data)
  p_g = jnp.asarray(p_g)
  total = p_data + p_g
  safe_total = jnp.where(total > 0, total, 1.0)
  return jnp.where(total > 0, p_data / safe_total, 0.5)


def optimal_value(p_data: ArrayLike, p_g: ArrayLike, *, axis: int = -1) -> jax.Array:
  """V(D*, G) = -log 4 + 2 JS(p_data || p_g), Theorem 1, for discrete p.

  Args:
    p_data: data probabilities along `axis`.
    p_g: generator probabilities of the same shape.
    axis: the axis holding the outcomes.

  Returns:
    The value of the game, in [-log 4, 0].
  """
  return -LOG_4 + 2.0 * js_divergence(p_data, p_g, axis=axis)


def game_value(
  discriminator: ArrayLike, p_data: ArrayLike, p_g: ArrayLike, *, axis: int = -1
) -> jax.Array:
  """V(D, G) = sum_x p_data(x) log D(x) + p_g(x) log(1 - D(x)).

  For densities, pass p(x) dx on a fine grid to get a Riemann sum of the
  integral. Terms with zero probability contribute 0 even where D is 0 or 1.
  Where a density is tiny but positive and D has rounded to exactly 0 or 1,
  the sum is -inf; `game_value_from_logits` avoids that rounding.

  Args:
    discriminator: D(x) in [0, 1] at each outcome.
    p_data: data probabilities (or density times cell width).
    p_g: generator probabilities of the same shape.
    axis: the axis holding the outcomes.

  Returns:
    The value of the game for this D.
  """
  d = jnp.asarray(discriminator)
  p_data = jnp.asarray(p_data)
  p_g = jnp.asarray(p_g)
  real = jnp.where(p_data > 0, p_data * jnp.log(jnp.where(p_data > 0, d, 1.0)), 0.0)
  fake = jnp.where(p_g > 0, p_g * jnp.log1p(-jnp.where(p_g > 0, d, 0.0)), 0.0)
  return jnp.sum(real + fake, axis=axis)


def game_value_from_logits(
  logits: ArrayLike, p_data: ArrayLike, p_g: ArrayLike, *, axis: int = -1
) -> jax.Array:
  """V(D, G) for D = sigmoid(logits), computed with log-sigmoids.

  log D = log_sigmoid(l) and log(1 - D) = log_sigmoid(-l) stay finite where
  sigmoid(l) itself rounds to 0 or 1, which happens in float32 in the tails
  of a grid. The optimal discriminator's logit is log p_data - log p_g.

  Args:
    logits: discriminator logits at each outcome.
    p_data: data probabilities (or density times cell width).
    p_g: generator probabilities of the same shape.
    axis: the axis holding the outcomes.

  Returns:
    The value of the game for this D.
  """
  logits = jnp.asarray(logits)
  return jnp.sum(
    jnp.asarray(p_data) * jax.nn.log_sigmoid(logits)
    + jnp.asarray(p_g) * jax.nn.log_sigmoid(-logits),
    axis=axis,
  )


# ---------------------------------------------------------------------------
# Gaussians.
# ---------------------------------------------------------------------------


def _as_mean_cov(mean: ArrayLike, cov: ArrayLike) -> tuple[jax.Array, jax.Array]:
  # Scalars mean the univariate case: a variance, not a standard deviation.
  mean = jnp.atleast_1d(jnp.asarray(mean, dtype=float))
  cov = jnp.asarray(cov, dtype=float)
  if cov.ndim == 0:
    cov = cov.reshape(1, 1)
  elif cov.ndim == 1:
    cov = jnp.diag(cov)
  return mean, cov


def gaussian_log_density(x: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> jax.Array:
  """log N(x; mean, cov) for x of shape (..., dim) (or (...) when dim = 1).

  Args:
    x: points; for a univariate Gaussian a plain array of points.
    mean: shape (dim,) or a scalar.
    cov: shape (dim, dim), (dim,) for a diagonal, or a scalar variance.

  Returns:
    Log-densities of shape x.shape[:-1] (x.shape in the univariate case).
  """
  mean, cov = _as_mean_cov(mean, cov)
  x = jnp.asarray(x, dtype=float)
  if mean.shape[0] == 1 and (x.ndim == 0 or x.shape[-1] != 1):
    x = x[..., None]
  return jax.scipy.stats.multivariate_normal.logpdf(x, mean, cov)


def gaussian_kl(
  mean_p: ArrayLike, cov_p: ArrayLike, mean_q: ArrayLike, cov_q: ArrayLike
) -> jax.Array:
  """Closed-form KL(N(mean_p, cov_p) || N(mean_q, cov_q)).

  KL = 1/2 [tr(C_q^{-1} C_p) + (m_q - m_p)^T C_q^{-1} (m_q - m_p) - d
            + log det C_q - log det C_p].

  Args:
    mean_p: shape (dim,) or a scalar.
    cov_p: shape (dim, dim), (dim,) for a diagonal, or a scalar variance.
    mean_q: as mean_p.
    cov_q: as cov_p.

  Returns:
    The divergence, a scalar.
  """
  mean_p, cov_p = _as_mean_cov(mean_p, cov_p)
  mean_q, cov_q = _as_mean_cov(mean_q, cov_q)
  dim = mean_p.shape[0]
  # Cholesky solves instead of an explicit inverse: cheaper and stabler.
  chol_q = jnp.linalg.cholesky(cov_q)
  solve = lambda b: jax.scipy.linalg.cho_solve((chol_q, True), b)
  diff = mean_q - mean_p
  trace_term = jnp.trace(solve(cov_p))
  mahalanobis = diff @ solve(diff)
  logdet_q = 2.0 * jnp.sum(jnp.log(jnp.diag(chol_q)))
  logdet_p = jnp.linalg.slogdet(cov_p)[1]
  return 0.5 * (trace_term + mahalanobis - dim + logdet_q - logdet_p)


def gaussian_js_1d(
  mean_p: float,
  std_p: float,
  mean_q: float,
  std_q: float,
  *,
  num_points: int = 20001,
  width: float = 12.0,
) -> jax.Array:
  """JS divergence of two univariate Gaussians by quadrature on a grid.

  JS has no closed form for Gaussians. The integrand
  1/2 p log(2p / (p + q)) + 1/2 q log(2q / (p + q)) is smooth and decays like
  the densities, so the trapezoid rule on a uniform grid spanning `width`
  standard deviations beyond both means is accurate to far below float32
  resolution with the defaults (the tails beyond 12 sigma carry < 1e-30).
  The log-ratios are formed from log-densities, which keeps them finite in
  the tails where the densities themselves underflow.

  Args:
    mean_p: mean of p.
    std_p: standard deviation of p.
    mean_q: mean of q.
    std_q: standard deviation of q.
    num_points: grid size.
    width: half-width of the grid in standard deviations.

  Returns:
    JS(p || q) in nats, a scalar.
  """
  lo = jnp.minimum(mean_p - width * std_p, mean_q - width * std_q)
  hi = jnp.maximum(mean_p + width * std_p, mean_q + width * std_q)
  x = jnp.linspace(lo, hi, num_points)
  log_p = jax.scipy.stats.norm.logpdf(x, mean_p, std_p)
  log_q = jax.scipy.stats.norm.logpdf(x, mean_q, std_q)
  log_m = jnp.logaddexp(log_p, log_q) - jnp.log(2.0)
  integrand = 0.5 * (jnp.exp(log_p) * (log_p - log_m) + jnp.exp(log_q) * (log_q - log_m))
  return jnp.trapezoid(integrand, x)


def gaussian_js_monte_carlo(
  key: jax.Array,
  mean_p: ArrayLike,
  cov_p: ArrayLike,
  mean_q: ArrayLike,
  cov_q: ArrayLike,
  *,
  num_samples: int = 100_000,
) -> jax.Array:
  """JS divergence of two Gaussians of any dimension, by Monte Carlo.

  JS = 1/2 E_p[log p/m] + 1/2 E_q[log q/m]; each expectation is averaged over
  `num_samples` draws. Each summand log(2p / (p + q)) is at most log 2 and
  has finite variance, so the error shrinks like 1 / sqrt(num_samples)
  (a few 1e-3 with the default for well-overlapping Gaussians).

  Args:
    key: PRNG key.
    mean_p: shape (dim,) or a scalar.
    cov_p: shape (dim, dim), (dim,) diagonal, or a scalar variance.
    mean_q: as mean_p.
    cov_q: as cov_p.
    num_samples: draws from each distribution.

  Returns:
    A Monte Carlo estimate of JS(p || q) in nats.
  """
  mean_p, cov_p = _as_mean_cov(mean_p, cov_p)
  mean_q, cov_q = _as_mean_cov(mean_q, cov_q)
  key_p, key_q = jax.random.split(key)
  x_p = jax.random.multivariate_normal(key_p, mean_p, cov_p, (num_samples,))
  x_q = jax.random.multivariate_normal(key_q, mean_q, cov_q, (num_samples,))

  def log_ratio_to_mixture(x, own_mean, own_cov, other_mean, other_cov):
    log_own = jax.scipy.stats.multivariate_normal.logpdf(x, own_mean, own_cov)
    log_other = jax.scipy.stats.multivariate_normal.logpdf(x, other_mean, other_cov)
    return log_own - (jnp.logaddexp(log_own, log_other) - jnp.log(2.0))

  return 0.5 * (
    jnp.mean(log_ratio_to_mixture(x_p, mean_p, cov_p, mean_q, cov_q))
    + jnp.mean(log_ratio_to_mixture(x_q, mean_q, cov_q, mean_p, cov_p))
  )
