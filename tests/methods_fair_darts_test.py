"""FairDARTS (darts_jax/methods/fair_darts.py) against independent computations: sigmoid weights
and the zero-one loss (value and gradient) in numpy, the threshold discretization on hand-made
weights and against a numpy transcription of the authors' ``threshold_sparse`` parse, and a tiny
NAS-Bench-201 search end to end."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from darts_jax import data, genotypes, methods, optim, search, spaces
from darts_jax.methods import fair_darts
from experiments.configs.methods import fair_darts as fair_darts_config

FAIR_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
            "dil_conv_3x3", "dil_conv_5x5")  # their PRIMITIVES: DARTS' ops without 'none'
NB201_FAIR_OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def test_mixing_weights_are_unnormalized_sigmoids():
  alphas = np.array([[0.0, 2.0, -3.0], [1.0, 1.0, 1.0]])
  method = methods.get("fair_darts")
  for mixing in (method.relax({"cell": jnp.asarray(alphas)}, None, {}),
                 method.expected({"cell": jnp.asarray(alphas)}, {})):
    np.testing.assert_allclose(mixing["cell"], _sigmoid(alphas), rtol=1e-6)
  assert not np.allclose(_sigmoid(alphas).sum(-1), 1.0)


def test_zero_one_loss_value_and_gradient_match_numpy():
  """Their ConvSeparateLoss on the normal and reduce sigmoids concatenated:
  -mean((s - 1/2)^2), weight 10; its gradient -(2 * 10 / N) (s - 1/2) s (1 - s)."""
  rng = np.random.default_rng(0)
  alphas = {"normal": rng.normal(size=(14, 7)), "reduce": 2 * rng.normal(size=(14, 7))}
  method = methods.get("fair_darts")
  everything = _sigmoid(np.concatenate([alphas["normal"], alphas["reduce"]]))
  expected = -10.0 * np.mean((everything - 0.5) ** 2)

  def penalty(a):
    return method.alpha_penalty(a, method.relax(a, None, {}), {})
  jax_alphas = {k: jnp.asarray(v, jnp.float32) for k, v in alphas.items()}
  assert float(penalty(jax_alphas)) == pytest.approx(expected, rel=1e-5)
  grads = jax.grad(penalty)(jax_alphas)
  for label, a in alphas.items():
    s = _sigmoid(a)
    expected_grad = -(2 * 10.0 / everything.size) * (s - 0.5) * s * (1 - s)
    np.testing.assert_allclose(grads[label], expected_grad, rtol=1e-4, atol=1e-9)
  # Descending it moves every sigmoid away from 1/2: alpha's sign is kept and its size grows.
  assert np.all(np.sign(-np.asarray(grads["normal"])) == np.sign(alphas["normal"]))
  l1 = methods.get("fair_darts", {"form": "l1", "zero_one_weight": 2.0})
  assert float(l1.alpha_penalty(jax_alphas, l1.relax(jax_alphas, None, {}), {})) == pytest.approx(
      -2.0 * np.mean(np.abs(everything - 0.5)), rel=1e-5)
  assert methods.get("fair_darts", {"zero_one_weight": 0.0}).alpha_penalty is None
  with pytest.raises(ValueError, match="form"):
    methods.get("fair_darts", {"form": "l3"})
  with pytest.raises(ValueError, match="threshold"):
    methods.get("fair_darts", {"threshold": 1.5})


def _threshold_sparse(weights, op_names, threshold, steps=4):
  """Their utils.parse(..., 'threshold_sparse') in numpy, written as (op, input) pairs with a
  dropped input as ('none', input)."""
  cell, start = [], 0
  for node in range(steps):
    rows = weights[start:start + node + 2]
    for j in sorted(range(node + 2), key=lambda j: -rows[j].max())[:2]:
      k = int(np.argmax(rows[j]))
      cell.append((op_names[k] if rows[j, k] >= threshold else "none", j))
    start += node + 2
  return tuple(cell)


def test_darts_cells_keep_two_inputs_per_node_and_drop_those_below_the_threshold():
  space = spaces.get("darts_cnn", op_names=FAIR_OPS)
  weights = np.full((14, 7), 0.05)
  weights[0, 3], weights[1, 4] = 0.95, 0.90  # node 0: both inputs above 0.85
  weights[2, 2], weights[3, 5], weights[4, 6] = 0.99, 0.40, 0.30  # node 1: one above
  weights[5, 0], weights[8, 1] = 0.20, 0.60  # node 2 (rows 5-8): none above
  weights[9, 6], weights[13, 5] = 0.86, 0.88  # node 3 (rows 9-13): both above
  mixing = {"normal": weights, "reduce": weights[::-1].copy()}
  genotype = fair_darts.threshold_rule(space, mixing, 0.85)
  assert genotype.normal == (("sep_conv_3x3", 0), ("sep_conv_5x5", 1),
                             ("skip_connect", 0), ("none", 1),
                             ("none", 3), ("none", 0),
                             ("dil_conv_3x3", 4), ("dil_conv_5x5", 0))
  assert genotype.reduce == _threshold_sparse(mixing["reduce"], FAIR_OPS, 0.85)
  spaces.get("darts_cnn").validate(genotype)  # 'none' is in the space's standard op set
  assert fair_darts.threshold_rule(space, mixing, 0.0) == space.discretize(mixing)
  rng = np.random.default_rng(1)
  for _ in range(20):
    mixing = {label: _sigmoid(3 * rng.normal(size=(14, 7))) for label in ("normal", "reduce")}
    genotype = fair_darts.threshold_rule(space, mixing, 0.85)
    for label in mixing:
      assert getattr(genotype, label) == _threshold_sparse(mixing[label], FAIR_OPS, 0.85)


def test_nb201_edges_below_the_threshold_become_none():
  space = spaces.get("nb201", op_names=NB201_FAIR_OPS)
  weights = np.full((6, 4), 0.1)
  weights[0, 2] = 0.9  # 1 <- 0
  weights[1, 0], weights[1, 3] = 0.5, 0.7  # 2 <- 0: best below 0.85
  weights[2, 1] = 0.86  # 2 <- 1
  weights[3, 3] = 0.99  # 3 <- 0; 3 <- 1 (row 4) all low
  weights[5, 0] = 0.85  # 3 <- 2: at the threshold is kept
  genotype = fair_darts.threshold_rule(space, {"cell": weights}, 0.85)
  assert str(genotype) == ("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|"
                           "+|avg_pool_3x3~0|none~1|skip_connect~2|")
  spaces.get("nb201").validate(genotype)
  assert fair_darts.threshold_rule(space, {"cell": weights}, 0.0) == space.discretize(
      {"cell": weights})


def test_search_parses_the_sigmoids_with_the_threshold_rule():
  space = spaces.get("darts_cnn", op_names=FAIR_OPS)
  rng = np.random.default_rng(2)
  alphas = {label: 1.5 * rng.normal(size=(14, 7)) for label in ("normal", "reduce")}
  genotype, weights = search.discretize(space, alphas, methods.get("fair_darts"))
  for label, values in alphas.items():
    np.testing.assert_allclose(weights[label], _sigmoid(values), rtol=1e-5, atol=1e-7)
    assert getattr(genotype, label) == _threshold_sparse(weights[label], FAIR_OPS, 0.85)
  # The random weights leave some inputs below the threshold and some above.
  assert "none" in genotype.ops() and genotype.ops() - {"none"}


def test_config_recipes_search_without_none():
  darts, nb201 = fair_darts_config.get_config(), fair_darts_config.get_config("nb201")
  assert tuple(darts.ops) == FAIR_OPS and tuple(nb201.ops) == NB201_FAIR_OPS
  assert (darts.method, darts.method_options.zero_one_weight, darts.method_options.threshold) == (
      "fair_darts", 10.0, 0.85)
  assert (darts.batch_size, darts.weights.lr, darts.alphas.lr, darts.alphas.b1, darts.epochs) == (
      128, 0.005, 3e-3, 0.9, 50)
  for arg in ("", "nb201", "quick", "nb201,quick"):
    config = fair_darts_config.get_config(arg)
    search.check_config(config)
    methods.get(config.method, config.method_options)
  with pytest.raises(ValueError, match="nb201"):
    fair_darts_config.get_config("darts")


def test_tiny_nb201_search_finishes_with_a_thresholded_genotype(tmp_path):
  config = fair_darts_config.get_config("nb201,quick")
  config.tensorboard = False  # one epoch (the quick config's)
  config.diagnostics.hessian_iterations = 0
  result = search.run(config, str(tmp_path), report=lambda _: None)
  assert [r["epoch"] for r in result.history] == [0]
  for record in result.history:
    numbers = [v for v in record.values() if isinstance(v, (int, float))]
    assert all(math.isfinite(v) for v in numbers), record
  weights = _sigmoid(result.alphas["cell"])
  np.testing.assert_allclose(result.history[-1]["alphas"]["cell"], weights, atol=1e-4)
  # The authors' rule in numpy: each edge's best op, or none below 0.85.
  expected, row = [], 0
  for j in range(1, 4):
    expected.append(tuple((NB201_FAIR_OPS[int(np.argmax(weights[row + i]))]
                           if weights[row + i].max() >= 0.85 else "none", i) for i in range(j)))
    row += j
  assert result.genotype == genotypes.NB201Genotype(tuple(expected))
  assert str(result.genotype) == result.history[-1]["genotype"]
  spaces.get("nb201").validate(result.genotype)
  dataset = data.load_from_config(config.data, seed=config.seed)
  _, _, state = search.init_state(config, dataset, optim.epoch_cosine(0.1, 0.0, 1, 1))
  initial = search.alphas_of(state)["cell"]
  assert np.abs(result.alphas["cell"] - initial).max() > 2 * config.alphas.lr  # the alphas moved
