"""P-DARTS (darts_jax/methods/pdarts.py and the supernet's kept ops and skip dropout) against
independent computations: the dropout schedule, the softmax over kept ops, dropping the weakest ops,
a mixed op with kept ops and dropout on the identity, the at-most-2-skips rule on hand-made cells of
both spaces, and a tiny two-stage NAS-Bench-201 search end to end."""

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import genotypes, methods, search, spaces
from darts_jax.methods import pdarts
from darts_jax.supernet import mixed
from experiments.configs.methods import pdarts as pdarts_config


def test_skip_dropout_decays_as_their_model_p():
  schedule = pdarts.dropout_schedule(0.4, 10)
  expected = [0.4 * (25 - e - 1) / 25 if e < 10 else 0.4 * math.exp(-(e - 10) * 0.2)
              for e in range(25)]
  np.testing.assert_allclose([schedule(e, 25) for e in range(25)], expected)
  method = methods.get("pdarts", {"stage": 2})
  assert method.hyper(10, 25)["skip_dropout"] == pytest.approx(0.7)
  assert [method.hyper(e, 25)["train_alphas"] for e in (0, 9, 10)] == [0, 0, 1]


def test_the_softmax_runs_over_kept_ops_and_dropped_ops_weigh_zero():
  rng = np.random.default_rng(0)
  alphas = rng.normal(size=(3, 5)).astype(np.float32)
  kept = [[0, 2, 4], [1, 3, 4], [0, 1, 2]]
  expected = np.zeros_like(alphas)
  for row, ops in enumerate(kept):
    e = np.exp(alphas[row, ops])
    expected[row, ops] = e / e.sum()
  method = methods.get("pdarts", {"kept_ops": json.dumps({"cell": kept})})
  np.testing.assert_allclose(method.expected({"cell": jnp.asarray(alphas)}, {})["cell"], expected,
                             rtol=1e-6)
  assert method.network == {"kept_ops": {"cell": kept}}
  mixing = method.relax({"cell": jnp.asarray(alphas)}, jax.random.PRNGKey(0),
                        {"skip_dropout": np.float32(0.3)})
  assert isinstance(mixing["cell"], mixed.EdgeMixing)
  np.testing.assert_allclose(mixing["cell"].weights, expected, rtol=1e-6)
  assert float(mixing["cell"].dropout_rate) == pytest.approx(0.3)
  grads = jax.grad(lambda a: jnp.sum(method.expected({"cell": a}, {})["cell"] ** 2))(
      jnp.asarray(alphas))
  assert np.all(np.isfinite(grads)) and np.all(np.asarray(grads)[expected == 0] == 0)


def test_dropping_keeps_the_strongest_ops_of_each_edge():
  rng = np.random.default_rng(1)
  weights = rng.dirichlet(np.ones(8), size=14)
  kept = pdarts.drop_weakest(weights, None, 5)
  assert kept == [sorted(np.argsort(-w)[:5].tolist()) for w in weights]
  masked = np.where(pdarts.kept_mask(kept, weights.shape), weights, -1.0)
  again = pdarts.drop_weakest(masked, kept, 3)
  assert again == [sorted(np.argsort(-w)[:3].tolist()) for w in masked]
  assert all(set(a) <= set(k) for a, k in zip(again, kept))
  with pytest.raises(ValueError, match="cannot keep"):
    pdarts.drop_weakest(weights, kept, 6)


def test_a_mixed_op_with_kept_ops_and_dropout_on_the_identity():
  """Edge 0 keeps (none, skip, max pool), edge 1 (none, max pool): the skip's output is dropped
  element-wise at rate p and scaled by 1/(1-p); edge 1 has no skip term whatever its weight."""
  names = ("none", "skip_connect", "max_pool_3x3")
  op = mixed.MixedOp(names, 4, 1, 2, kept=[[0, 1, 2], [0, 2]], rngs=nnx.Rngs(0))
  assert len(op.ops) == 3 and op.op_edges == (None, (0,), None)
  rng = np.random.default_rng(2)
  x = jnp.asarray(rng.normal(size=(2, 8, 6, 6, 4)), jnp.float32)
  w = jnp.asarray([[0.2, 0.5, 0.3], [0.1, 0.6, 0.3]], jnp.float32)
  no_drop = np.asarray(op(x, mixed.EdgeMixing(w, dropout_key=jax.random.PRNGKey(0),
                                               dropout_rate=jnp.float32(0.0))))
  pool = np.asarray(mixed.MixedOp(("max_pool_3x3",), 4, 1, 2, rngs=nnx.Rngs(0))(
      x, jnp.ones((2, 1), jnp.float32)))
  np.testing.assert_allclose(no_drop[0], 0.5 * np.asarray(x[0]) + 0.3 * pool[0], rtol=1e-6)
  np.testing.assert_allclose(no_drop[1], 0.3 * pool[1], rtol=1e-6)  # the skip weight is ignored
  out = np.asarray(op(x, mixed.EdgeMixing(w, dropout_key=jax.random.PRNGKey(0),
                                           dropout_rate=jnp.float32(0.5))))
  np.testing.assert_allclose(out[1], no_drop[1], rtol=1e-6)
  ratio = (out[0] - 0.3 * pool[0]) / (0.5 * np.asarray(x[0]))
  assert np.all(np.isclose(ratio, 0.0, atol=1e-4) | np.isclose(ratio, 2.0, atol=1e-4))
  assert 0.4 < np.mean(np.isclose(ratio, 0.0, atol=1e-4)) < 0.6


def test_at_most_two_skips_on_nb201_the_weakest_skips_take_their_next_op():
  space = spaces.get("nb201")  # none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3
  w = np.full((6, 5), 0.05)
  skip_weights = {0: 0.9, 1: 0.5, 2: 0.7, 3: 0.6}
  for row, value in skip_weights.items():
    w[row, 1], w[row, 3] = value, 0.2
  w[4, 2] = w[5, 4] = 0.8
  genotype = pdarts.limit_skips(space, {"cell": w}, 2)
  # Rows 1 (0.5) then 3 (0.6) lose their skips and take nor_conv_3x3; rows 0 and 2 keep theirs.
  assert genotype == space.parse("|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+"
                                 "|nor_conv_3x3~0|nor_conv_1x1~1|avg_pool_3x3~2|")
  assert pdarts.limit_skips(space, {"cell": w}, 4) == space.discretize({"cell": w})


def test_at_most_two_skips_in_the_darts_normal_cell_edges_are_reselected():
  """Normal cell: node 0 takes skips on both inputs (0.9, 0.8); node 1's skips on rows 2 (0.7) and
  4 (0.65) beat row 3's sep_conv (0.6). Row 4 loses its skip first, then node 1 takes rows 2 and 3
  (3 skips), so row 2 loses its skip: node 1 takes sep_conv_3x3 from 1 and its next op (dil_conv_3x3,
  0.2) from 0. The reduce cell keeps its skips."""
  space = spaces.get("darts_cnn")
  ops = list(space.op_names)
  sk, sep, dil, pool = (ops.index(n) for n in ("skip_connect", "sep_conv_3x3", "dil_conv_3x3",
                                                 "max_pool_3x3"))
  normal = np.full((14, 8), 0.01)
  normal[0, sk], normal[1, sk] = 0.9, 0.8
  normal[2, sk], normal[2, dil] = 0.7, 0.2
  normal[3, sep] = 0.6
  normal[4, sk], normal[4, pool] = 0.65, 0.1
  normal[5:, sep] = 0.5  # nodes 2 and 3: sep_conv_3x3 everywhere
  reduce = normal.copy()
  genotype = pdarts.limit_skips(space, {"normal": normal, "reduce": reduce}, 2)
  assert genotype.normal[:4] == (("skip_connect", 0), ("skip_connect", 1), ("sep_conv_3x3", 1),
                                 ("dil_conv_3x3", 0))
  assert genotype.reduce == space.discretize({"normal": normal, "reduce": reduce}).reduce
  assert sum(op == "skip_connect" for op, _ in genotype.reduce) == 4
  assert sum(op == "skip_connect" for op, _ in genotype.normal) == 2


def test_config_recipes():
  darts, nb201 = pdarts_config.get_config(), pdarts_config.get_config("nb201")
  assert (darts.space, nb201.space) == ("darts_cnn", "nb201")
  assert (darts.method, darts.epochs, darts.batch_size, darts.weights.lr, darts.alphas.lr,
          darts.alphas.weight_decay) == ("pdarts", 25, 96, 0.025, 6e-4, 1e-3)
  options = darts.method_options
  assert (tuple(options.depths), tuple(options.ops_per_stage), tuple(options.skip_dropout),
          options.warmup_epochs, options.max_skips) == ((5, 11, 17), (8, 5, 3), (0.1, 0.4, 0.7),
                                                        10, 2)
  assert tuple(nb201.method_options.ops_per_stage) == (5, 4, 3)
  for arg in ("", "nb201", "quick", "nb201,quick", "cifar10", "nb201,cifar10,quick"):
    config = pdarts_config.get_config(arg)
    search.check_config(config)
    methods.get(config.method, config.method_options)
  with pytest.raises(ValueError, match="nb201"):
    pdarts_config.get_config("nb101")


def test_tiny_two_stage_nb201_search(tmp_path):
  config = pdarts_config.get_config("nb201,quick")
  config.tensorboard = False
  config.diagnostics.hessian_iterations = 0
  config.method_options.update({"depths": (5, 8), "ops_per_stage": (5, 3),
                                "skip_dropout": (0.1, 0.4)})
  result = search.run(config, str(tmp_path), report=lambda _: None)
  assert [r["stage"] for r in result.history] == [0, 1]
  for record in result.history:
    numbers = [v for v in record.values() if isinstance(v, (int, float))]
    assert all(math.isfinite(v) for v in numbers), record
  first, second = (np.asarray(r["alphas"]["cell"]) for r in result.history)
  stage2 = json.load(open(tmp_path / "stage2" / "config.json"))  # flat: {dotted.field: value}
  kept = json.loads(stage2["method_options.kept_ops"])["cell"]
  assert stage2["network.cells_per_stage"] == 2
  for row, ops in enumerate(kept):
    dropped = [k for k in range(5) if k not in ops]
    assert len(ops) == 3 and first[row, ops].min() >= first[row, dropped].max() - 1e-4
    assert np.all(second[row, dropped] == 0)
    np.testing.assert_allclose(second[row].sum(), 1.0, atol=1e-3)
  space = spaces.get("nb201")
  assert result.genotype == pdarts.limit_skips(space, {"cell": second}, 2)
  assert genotypes.load(os.path.join(tmp_path, "genotype.json")) == result.genotype
  assert len(open(tmp_path / "metrics.jsonl").readlines()) == 2


def test_alpha_gradients_are_clipped_before_adam_as_pdarts_train_does():
  """train_search.py: clip_grad_norm_(arch_parameters(), 5), then Adam(6e-4, (0.5, 0.999),
  weight_decay=1e-3); replayed in numpy with PyTorch's formulas (clip factor max/(norm + 1e-6),
  coupled decay, bias-corrected moments, eps 1e-8)."""
  from darts_jax import optim
  config = pdarts_config.get_config()
  assert config.alphas.clip_norm == 5.0
  alpha_tx, _ = search.optimizers(config, lambda _: 0.025)
  rng = np.random.default_rng(0)
  params = {"normal": rng.standard_normal((14, 8)), "reduce": rng.standard_normal((14, 8))}
  grads = [{k: 3.0 * rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(3)]

  p = {k: x.copy() for k, x in params.items()}
  m, v = {k: 0.0 for k in params}, {k: 0.0 for k in params}
  for t, g in enumerate(grads, 1):
    norm = math.sqrt(sum(float(np.sum(x ** 2)) for x in g.values()))
    assert norm > 5.0  # the clip is active
    for k in p:
      d = g[k] * min(1.0, 5.0 / (norm + 1e-6)) + 1e-3 * p[k]
      m[k] = 0.5 * m[k] + 0.5 * d
      v[k] = 0.999 * v[k] + 0.001 * d * d
      p[k] = p[k] - 6e-4 * (m[k] / (1 - 0.5 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)

  with jax.enable_x64(True):
    ours = jax.tree.map(jnp.asarray, params)
    state = alpha_tx.init(ours)
    for g in grads:
      updates, state = alpha_tx.update(jax.tree.map(jnp.asarray, g), state, ours)
      ours = jax.tree.map(lambda a, b: a + b, ours, updates)
  for k in p:
    np.testing.assert_allclose(np.asarray(ours[k]), p[k], rtol=1e-10, atol=1e-12)
  with jax.enable_x64(True):  # DARTS' optimizer (no clip) takes other steps from these gradients
    unclipped = optim.alpha_optimizer(6e-4, weight_decay=1e-3)
    theirs = jax.tree.map(jnp.asarray, params)
    state = unclipped.init(theirs)
    for g in grads:
      updates, state = unclipped.update(jax.tree.map(jnp.asarray, g), state, theirs)
      theirs = jax.tree.map(lambda a, b: a + b, theirs, updates)
  assert np.max(np.abs(np.asarray(theirs["normal"]) - p["normal"])) > 1e-7


def test_several_seeds_in_one_program_are_refused_with_the_fix(tmp_path):
  from darts_jax import config_schema
  config = pdarts_config.get_config("nb201")
  config.num_seeds = 2
  with pytest.raises(config_schema.ConfigError, match="num_seeds=1"):
    search.run(config, str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()
