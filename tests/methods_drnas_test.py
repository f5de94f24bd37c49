"""DrNAS (darts_jax/methods/drnas.py) against independent computations: the concentration and the
Dirichlet mean in numpy, the pathwise gradient of one draw against the implicit-function gradient
from a finite difference of the Gamma CDF (scipy), the draws' mean, the KL to the uniform prior
against a Monte Carlo estimate, the L2 term against Adam's coupled weight decay, and a tiny
NAS-Bench-201 search end to end."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from darts_jax import compiling, data, methods, optim, search, spaces
from darts_jax.methods import drnas
from experiments.configs.methods import drnas as drnas_config

ALPHAS = np.array([[0.3, -0.8, 1.2, 0.0], [-0.2, 0.5, -1.5, 2.0]])
C = np.array([1.0, -2.0, 3.0, 0.5])  # a test function sum_i c_i w_i^2
V = np.array([1.0, -1.0, 0.5, 0.0])  # a direction for Hessian-vector products


def _concentration(alphas):
  """elu(alpha) + 1 in numpy."""
  return np.where(alphas > 0, alphas, np.expm1(np.minimum(alphas, 0))) + 1.0


def test_concentration_and_mean_are_elu_plus_one_and_its_normalization():
  beta = _concentration(ALPHAS)
  np.testing.assert_allclose(drnas.concentration(jnp.asarray(ALPHAS)), beta, rtol=1e-6)
  np.testing.assert_allclose(drnas.dirichlet_mean(jnp.asarray(ALPHAS)),
                             beta / beta.sum(-1, keepdims=True), rtol=1e-6)
  np.testing.assert_allclose(drnas.concentration(jnp.zeros(3)), 1.0)  # the uniform prior


def test_a_draw_is_differentiable_with_the_implicit_reparameterization_gradient():
  """w = g / sum(g), g_i ~ Gamma(beta_i): dg/dbeta = -(dF/dbeta)(g; beta) / p(g; beta) with F the
  Gamma CDF (implicit function theorem), dF/dbeta by a central finite difference of scipy's
  regularized incomplete gamma; chained through w's normalization and beta = elu(alpha) + 1."""
  with jax.enable_x64(True):
    alphas, key = jnp.asarray(ALPHAS), jax.random.PRNGKey(3)
    draw = np.asarray(drnas.dirichlet_sample(alphas, key))
    jacobian = np.asarray(jax.jit(jax.jacobian(drnas.dirichlet_sample),
                                  compiler_options=compiling.QUICK_COMPILE)(alphas, key))
    beta = _concentration(ALPHAS)
    # jax.random.dirichlet normalizes these Gamma draws (the same key and shape):
    gammas = np.exp(np.asarray(jax.random.loggamma(key, jnp.asarray(beta), beta.shape)))
  np.testing.assert_allclose(gammas / gammas.sum(-1, keepdims=True), draw, rtol=1e-12,
                             err_msg="jax.random.dirichlet no longer normalizes loggamma draws")
  h = 1e-6
  cdf_by_beta = (special.gammainc(beta + h, gammas) - special.gammainc(beta - h, gammas)) / (2 * h)
  density = np.exp((beta - 1) * np.log(gammas) - gammas - special.gammaln(beta))
  gamma_by_alpha = -cdf_by_beta / density * np.where(ALPHAS > 0, 1.0, np.exp(ALPHAS))
  total = gammas.sum(-1, keepdims=True)
  expected = np.zeros(ALPHAS.shape * 2)
  for edge in range(ALPHAS.shape[0]):
    for i in range(ALPHAS.shape[1]):
      # d w_j / d g_i = (delta_ij - w_j) / sum(g)
      expected[edge, :, edge, i] = ((np.arange(ALPHAS.shape[1]) == i) - draw[edge]) / total[edge] \
          * gamma_by_alpha[edge, i]
  np.testing.assert_allclose(jacobian, expected, atol=1e-8)
  assert np.abs(expected).max() > 0.05  # a gradient that vanished would not pass


@pytest.fixture(scope="module")
def draws():
  """20000 draws from edge 0's Dirichlet and, for each, the pathwise gradient in alpha of
  ``f = sum_i c_i w_i^2`` and its derivative along ``V`` (a Hessian-vector product, as the collapse
  diagnostics' power iteration takes): one program, compiled quickly."""
  c, alphas = jnp.asarray(C, jnp.float32), jnp.asarray(ALPHAS[0], jnp.float32)

  def one(key):
    f = lambda a: jnp.sum(c * drnas.dirichlet_sample(a, key) ** 2)
    gradient, hvp = jax.jvp(jax.grad(f), (alphas,), (jnp.asarray(V, jnp.float32),))
    return drnas.dirichlet_sample(alphas, key), gradient, hvp
  run = jax.jit(jax.vmap(one), compiler_options=compiling.QUICK_COMPILE)
  return tuple(np.asarray(x) for x in run(jax.random.split(jax.random.PRNGKey(0), 20000)))


def test_draws_average_to_the_dirichlet_mean(draws):
  beta = _concentration(ALPHAS[0])
  np.testing.assert_allclose(draws[0].mean(0), beta / beta.sum(), atol=0.01)
  np.testing.assert_allclose(draws[0].sum(-1), 1.0, rtol=1e-5)


def test_the_mean_gradient_of_draws_matches_a_finite_difference_of_the_closed_form_expectation(
    draws):
  """E[sum_i c_i w_i^2] = sum_i c_i b_i (b_i + 1) / (b0 (b0 + 1)) (the Dirichlet's second
  moments); its gradient in alpha and its Hessian times V by central differences (numpy) against
  the averages of 20000 draws' pathwise gradients and Hessian-vector products."""
  def expectation(a):
    b = _concentration(a)
    return np.sum(C * b * (b + 1)) / (b.sum() * (b.sum() + 1))

  def gradient(a, h=1e-5):
    return np.array([(expectation(a + h * e) - expectation(a - h * e)) / (2 * h)
                     for e in np.eye(4)])
  h = 1e-4
  finite = {"gradient": gradient(ALPHAS[0]),
            "hvp": (gradient(ALPHAS[0] + h * V) - gradient(ALPHAS[0] - h * V)) / (2 * h)}
  for name, pathwise in zip(("gradient", "hvp"), draws[1:]):
    error = pathwise.std(0) / math.sqrt(len(pathwise))
    assert np.all(np.abs(pathwise.mean(0) - finite[name]) < 5 * error + 1e-4), (
        name, pathwise.mean(0), finite[name], error)
    assert np.abs(finite[name]).max() > 10 * error.max()  # the check can tell a wrong value


def test_relax_draws_independent_rows_on_the_simplex():
  method = methods.get("drnas")
  alphas = {"normal": jnp.asarray(ALPHAS, jnp.float32), "reduce": jnp.asarray(ALPHAS, jnp.float32)}
  relax = jax.jit(method.relax, compiler_options=compiling.QUICK_COMPILE)
  mixing = relax(alphas, jax.random.PRNGKey(1), {})
  for label in alphas:
    assert mixing[label].shape == ALPHAS.shape and bool(jnp.all(mixing[label] > 0))
    np.testing.assert_allclose(mixing[label].sum(-1), 1.0, rtol=1e-5)
  assert not np.allclose(mixing["normal"], mixing["reduce"])  # one key per group
  assert not np.allclose(mixing["normal"], relax(alphas, jax.random.PRNGKey(2), {})["normal"])
  beta = _concentration(ALPHAS)
  np.testing.assert_allclose(method.expected(alphas, {})["reduce"],
                             beta / beta.sum(-1, keepdims=True), rtol=1e-6)
  with pytest.raises(ValueError, match="PRNG key"):
    drnas.dirichlet_sample(alphas["normal"], None)


def test_kl_to_the_uniform_prior_matches_monte_carlo_and_vanishes_at_the_prior():
  beta = _concentration(ALPHAS)
  kl = np.asarray(drnas.kl_to_uniform(jnp.asarray(ALPHAS)))
  rng = np.random.default_rng(0)
  for edge in range(len(beta)):
    x = rng.dirichlet(beta[edge], size=200000)
    log_ratio = stats.dirichlet.logpdf(x.T, beta[edge]) - stats.dirichlet.logpdf(x.T, np.ones(4))
    assert kl[edge] == pytest.approx(log_ratio.mean(), abs=4 * log_ratio.std() / math.sqrt(len(x)))
  assert kl.min() > 0.1
  np.testing.assert_allclose(drnas.kl_to_uniform(jnp.zeros((3, 5))), 0.0, atol=1e-5)


def test_penalties_by_option():
  alphas = {"normal": jnp.asarray(ALPHAS, jnp.float32), "reduce": -jnp.asarray(ALPHAS, jnp.float32)}
  l2 = methods.get("drnas", {"reg_scale": 0.01})
  expected = 0.5 * 0.01 * 2 * np.sum(ALPHAS ** 2)  # both groups: the same squares
  assert float(l2.alpha_penalty(alphas, None, {})) == pytest.approx(expected, rel=1e-5)
  kl = methods.get("drnas", {"reg_type": "kl", "reg_scale": 0.01})
  expected = 0.01 * (np.sum(drnas.kl_to_uniform(alphas["normal"]))
                     + np.sum(drnas.kl_to_uniform(alphas["reduce"])))
  assert float(kl.alpha_penalty(alphas, None, {})) == pytest.approx(float(expected), rel=1e-5)
  assert methods.get("drnas", {"reg_scale": 0.0}).alpha_penalty is None
  assert methods.defaults("drnas") == {"reg_type": "l2", "reg_scale": 1e-3, "warmup_epochs": 0}
  with pytest.raises(ValueError, match="reg_type"):
    methods.get("drnas", {"reg_type": "l1"})
  warm = methods.get("drnas", {"warmup_epochs": 10})
  assert [warm.hyper(e, 50)["train_alphas"] for e in (0, 9, 10, 49)] == [0, 0, 1, 1]
  assert "train_alphas" not in methods.get("drnas").hyper(0, 50)


def test_the_l2_penalty_steps_adam_as_their_architects_weight_decay_does():
  """Their Architect: Adam(weight_decay=reg_scale) on the loss's gradient g. Here: Adam without
  decay on the gradient of loss + penalty. The updates agree."""
  alphas = {"cell": jnp.asarray(ALPHAS, jnp.float32)}
  g = {"cell": jnp.asarray(np.random.default_rng(0).normal(size=ALPHAS.shape), jnp.float32)}
  penalty = methods.get("drnas").alpha_penalty
  with_penalty = jax.tree.map(jnp.add, g, jax.grad(lambda a: penalty(a, None, {}))(alphas))
  theirs, ours = optim.alpha_optimizer(6e-4, weight_decay=1e-3), optim.alpha_optimizer(
      6e-4, weight_decay=0.0)
  a, b = theirs.update(g, theirs.init(alphas), alphas), ours.update(with_penalty,
                                                                    ours.init(alphas), alphas)
  for _ in range(3):
    a = theirs.update(g, a[1], alphas)
    b = ours.update(with_penalty, b[1], alphas)
  np.testing.assert_allclose(a[0]["cell"], b[0]["cell"], rtol=1e-5, atol=1e-9)


def test_the_genotype_comes_from_the_dirichlet_mean_not_the_softmax():
  """DARTS-rule input ranking on the Dirichlet mean: alphas where it differs from softmax's."""
  space = spaces.get("darts_cnn", op_names=("none", "avg_pool_3x3", "skip_connect", "sep_conv_3x3"))
  method = methods.get("drnas")
  rng = np.random.default_rng(0)
  for _ in range(100):
    alphas = {label: 3 * rng.normal(size=(14, 4)) for label in ("normal", "reduce")}
    mean = {k: _concentration(a) / _concentration(a).sum(-1, keepdims=True)
            for k, a in alphas.items()}
    softmax = {k: np.exp(a) / np.exp(a).sum(-1, keepdims=True) for k, a in alphas.items()}
    if space.discretize(mean) != space.discretize(softmax):
      break
  genotype, weights = search.discretize(space, alphas, method)
  assert genotype == space.discretize(mean) != space.discretize(softmax)
  for k in alphas:
    np.testing.assert_allclose(weights[k], mean[k], rtol=1e-5, atol=1e-6)


def test_config_recipes():
  darts, nb201 = drnas_config.get_config(), drnas_config.get_config("nb201")
  assert (darts.space, nb201.space) == ("darts_cnn", "nb201")
  assert (darts.method, darts.method_options.warmup_epochs, darts.weights.lr, darts.alphas.lr,
          darts.epochs) == ("drnas", 10, 0.1, 6e-4, 50)
  assert (nb201.method_options.warmup_epochs, nb201.weights.lr, nb201.alphas.lr,
          nb201.epochs) == (0, 0.025, 3e-4, 100)
  assert darts.alphas.weight_decay == nb201.alphas.weight_decay == 0.0
  for arg in ("", "nb201", "quick", "nb201,quick"):
    config = drnas_config.get_config(arg)
    search.check_config(config)
    methods.get(config.method, config.method_options)
  with pytest.raises(ValueError, match="nb201"):
    drnas_config.get_config("nb101")


def test_tiny_nb201_search_finishes_with_a_genotype_from_the_dirichlet_mean(tmp_path):
  config = drnas_config.get_config("nb201,quick")
  config.tensorboard = False  # one epoch (the quick config's)
  config.diagnostics.hessian_iterations = 0  # test_hessian_vector_products_pass_through_a_draw
  result = search.run(config, str(tmp_path), report=lambda _: None)
  assert [r["epoch"] for r in result.history] == [0]
  for record in result.history:
    numbers = [v for v in record.values() if isinstance(v, (int, float))]
    assert all(math.isfinite(v) for v in numbers), record
  space = spaces.get("nb201")
  space.validate(result.genotype)
  beta = _concentration(result.alphas["cell"])
  mean = beta / beta.sum(-1, keepdims=True)
  np.testing.assert_allclose(result.history[-1]["alphas"]["cell"], mean, atol=1e-4)
  assert result.genotype == space.discretize({"cell": mean})
  assert str(result.genotype) == result.history[-1]["genotype"]
  dataset = data.load_from_config(config.data, seed=config.seed)
  _, _, state = search.init_state(config, dataset, optim.epoch_cosine(0.1, 0.0, 1, 1))
  initial = search.alphas_of(state)["cell"]
  assert np.abs(result.alphas["cell"] - initial).max() > 2 * config.alphas.lr  # the alphas moved

