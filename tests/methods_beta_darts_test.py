"""β-DARTS (darts_jax/methods/beta_darts.py) against independent computations: the Beta-Decay
regularizer and its gradient (the softmax) in numpy, its weight schedule in closed form, and a tiny
NAS-Bench-201 search end to end."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from darts_jax import data, methods, optim, search, spaces
from darts_jax.methods import beta_darts
from experiments.configs.methods import beta_darts as beta_darts_config


def _logsumexp(x):
  top = x.max(-1, keepdims=True)
  return (top + np.log(np.exp(x - top).sum(-1, keepdims=True)))[..., 0]


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_beta_decay_is_the_mean_logsumexp_of_the_raw_alphas_and_its_gradient_the_softmax():
  """Their mlc_loss: mean over edges of logsumexp(alpha); normal and reduce edges in one mean.
  The gradient in an edge's alphas is that edge's softmax over the number of edges."""
  rng = np.random.default_rng(0)
  alphas = {"normal": 2 * rng.normal(size=(14, 8)), "reduce": rng.normal(size=(14, 8)) + 3.0}
  edges = np.concatenate([alphas["normal"], alphas["reduce"]])
  jax_alphas = {k: jnp.asarray(v, jnp.float32) for k, v in alphas.items()}
  assert float(beta_darts.beta_decay(jax_alphas)) == pytest.approx(_logsumexp(edges).mean(),
                                                                   rel=1e-5)
  # Not the same on the softmax-normalized weights: the regularizer reads the raw alphas.
  assert _logsumexp(_softmax(edges)).mean() != pytest.approx(_logsumexp(edges).mean(), rel=0.1)
  grads = jax.grad(beta_darts.beta_decay)(jax_alphas)
  for label, values in alphas.items():
    np.testing.assert_allclose(grads[label], _softmax(values) / len(edges), rtol=1e-4, atol=1e-9)
  # One NB201 cell: the mean over its 6 edges.
  cell = rng.normal(size=(6, 5))
  assert float(beta_darts.beta_decay({"cell": jnp.asarray(cell, jnp.float32)})) == pytest.approx(
      _logsumexp(cell).mean(), rel=1e-5)


def test_the_weight_ramps_linearly_from_zero_as_their_50_epoch_over_100():
  method = methods.get("beta_darts")
  assert [method.hyper(e, 100)["beta_weight"] for e in (0, 1, 50, 99)] == [0.0, 0.5, 25.0, 49.5]
  assert [method.hyper(e, 2)["beta_weight"] for e in (0, 1)] == [0.0, 25.0]
  assert methods.get("beta_darts", {"weight": 10.0}).hyper(5, 10)["beta_weight"] == 5.0
  with pytest.raises(ValueError, match="non-negative"):
    methods.get("beta_darts", {"weight": -1.0})


def test_the_penalty_is_the_scheduled_weight_times_beta_decay():
  method = methods.get("beta_darts")
  alphas = {"cell": jnp.asarray(np.random.default_rng(1).normal(size=(6, 5)), jnp.float32)}
  hyper = method.hyper(30, 100)
  value = method.alpha_penalty(alphas, method.relax(alphas, None, hyper), hyper)
  assert float(value) == pytest.approx(15.0 * _logsumexp(np.asarray(alphas["cell"])).mean(),
                                       rel=1e-5)
  # Everything else is DARTS': softmax mixing weights, the genotype parsed from them.
  np.testing.assert_allclose(method.expected(alphas, hyper)["cell"],
                             _softmax(np.asarray(alphas["cell"])), rtol=1e-5)


def test_config_recipes():
  darts, nb201 = beta_darts_config.get_config(), beta_darts_config.get_config("nb201")
  assert (darts.space, nb201.space) == ("darts_cnn", "nb201")
  assert (darts.method, darts.method_options.weight, darts.epochs, nb201.epochs) == (
      "beta_darts", 50.0, 50, 100)
  assert (nb201.batch_size, nb201.weights.lr, nb201.weights.weight_decay, nb201.alphas.lr,
          nb201.alphas.weight_decay, nb201.step_order) == (64, 0.025, 3e-4, 3e-4, 1e-3,
                                                           "alphas_first")
  for arg in ("", "nb201", "quick", "nb201,quick"):
    config = beta_darts_config.get_config(arg)
    search.check_config(config)
    methods.get(config.method, config.method_options)
  with pytest.raises(ValueError, match="nb201"):
    beta_darts_config.get_config("fast")


def test_tiny_nb201_search_records_the_ramp_and_finishes_with_a_valid_genotype(tmp_path):
  config = beta_darts_config.get_config("nb201,quick")
  config.epochs, config.tensorboard = 2, False
  config.diagnostics.hessian_iterations = 0
  result = search.run(config, str(tmp_path), report=lambda _: None)
  assert [r["epoch"] for r in result.history] == [0, 1]
  assert [r["beta_weight"] for r in result.history] == [0.0, 25.0]
  for record in result.history:
    numbers = [v for v in record.values() if isinstance(v, (int, float))]
    assert all(math.isfinite(v) for v in numbers), record
  space = spaces.get("nb201")
  space.validate(result.genotype)
  weights = _softmax(result.alphas["cell"])
  np.testing.assert_allclose(result.history[-1]["alphas"]["cell"], weights, atol=1e-4)
  assert result.genotype == space.discretize({"cell": weights})
  dataset = data.load_from_config(config.data, seed=config.seed)
  _, _, state = search.init_state(config, dataset, optim.epoch_cosine(0.1, 0.0, 1, 1))
  initial = search.alphas_of(state)["cell"]
  assert np.abs(result.alphas["cell"] - initial).max() > 2 * config.alphas.lr  # the alphas moved
