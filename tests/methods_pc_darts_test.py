"""PC-DARTS (darts_jax/methods/pc_darts.py and the supernet's partial channels) against independent
numpy computations: the channel shuffle's permutation, a partial-channel mixed op at both strides
(ops on the first C/4 channels, the bypass max-pooled on strided edges, concatenated, shuffled,
scaled by the edge weight), the edge-normalization softmax over each node's incoming edges and its
effect on the parsed genotype, and a tiny NAS-Bench-201 search end to end."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import methods, search, spaces, supernet
from darts_jax.methods import pc_darts
from darts_jax.supernet import mixed
from experiments.configs.methods import pc_darts as pc_darts_config


def _max_pool(x, size, stride, pad):
  """``[E, N, H, W, C]`` max pooling in numpy, ``-inf`` padding (``pad`` before, enough after)."""
  e, n, h, w, c = x.shape
  out_h, out_w = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
  padded = np.full((e, n, h + 2 * pad + size, w + 2 * pad + size, c), -np.inf)
  padded[:, :, pad:pad + h, pad:pad + w] = x
  out = np.full((e, n, out_h, out_w, c), -np.inf)
  for i in range(out_h):
    for j in range(out_w):
      window = padded[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
      out[:, :, i, j] = window.max(axis=(2, 3))
  return out


def _shuffle(x, groups):
  """Output channel ``j * groups + g`` is input channel ``g * (C / groups) + j``."""
  c = x.shape[-1]
  out = np.empty_like(x)
  for g in range(groups):
    for j in range(c // groups):
      out[..., j * groups + g] = x[..., g * (c // groups) + j]
  return out


def test_channel_shuffle_is_shufflenets_permutation():
  x = np.arange(2 * 12, dtype=np.float32).reshape(2, 12)
  np.testing.assert_array_equal(mixed.channel_shuffle(jnp.asarray(x), 4), _shuffle(x, 4))
  np.testing.assert_array_equal(mixed.channel_shuffle(jnp.asarray(x), 4)[0],
                                [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
  np.testing.assert_array_equal(mixed.channel_shuffle(jnp.asarray(x), 1), x)


@pytest.mark.parametrize("stride", [1, 2])
def test_a_partial_channel_mixed_op_equals_a_hand_computation(stride):
  """Ops ``none``, ``max_pool_3x3`` (and ``skip_connect`` at stride 1) on the first C/4 channels,
  weighted; the rest bypassed (max-pooled 2x2 at stride 2); concat, shuffle, times the edge
  weight."""
  names = ("none", "max_pool_3x3") + (("skip_connect",) if stride == 1 else ())
  edges, k, channels = 3, 4, 8
  op = mixed.MixedOp(names, channels, stride, edges, partial_channels=k, rngs=nnx.Rngs(0))
  rng = np.random.default_rng(stride)
  x = rng.normal(size=(edges, 2, 6, 6, channels)).astype(np.float32)
  w = rng.dirichlet(np.ones(len(names)), size=edges).astype(np.float32)
  edge_w = np.array([0.2, 0.5, 0.3], np.float32)
  out = op(jnp.asarray(x), mixed.EdgeMixing(jnp.asarray(w), edge_weights=jnp.asarray(edge_w)))
  part, bypass = x[..., :channels // k], x[..., channels // k:]
  results = {"none": np.zeros_like(_max_pool(part, 3, stride, 1)),
             "max_pool_3x3": _max_pool(part, 3, stride, 1), "skip_connect": part}
  ops_sum = sum(w[:, i, None, None, None, None] * results[name] for i, name in enumerate(names))
  if stride == 2:
    bypass = _max_pool(bypass, 2, 2, 0)
  expected = _shuffle(np.concatenate([ops_sum, bypass], -1), k) * edge_w[:, None, None, None, None]
  assert out.shape == expected.shape == (edges, 2, 6 // stride, 6 // stride, channels)
  np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
  # Without EdgeMixing: the same without the edge weights.
  np.testing.assert_allclose(op(jnp.asarray(x), jnp.asarray(w)),
                             expected / edge_w[:, None, None, None, None], rtol=1e-5, atol=1e-6)


def test_partial_channels_must_divide_the_channels():
  with pytest.raises(ValueError, match="partial_channels"):
    mixed.MixedOp(("none",), 6, 1, 2, partial_channels=4, rngs=nnx.Rngs(0))


def _edge_softmax(betas, sizes):
  out, start = [], 0
  for size in sizes:
    e = np.exp(betas[start:start + size] - betas[start:start + size].max())
    out.extend(e / e.sum())
    start += size
  return np.array(out)


def test_edge_weights_are_a_softmax_over_each_nodes_incoming_edges():
  rng = np.random.default_rng(0)
  assert pc_darts.node_sizes(14) == (2, 3, 4, 5)  # DARTS: node i has i + 2 inputs
  assert pc_darts.node_sizes(6) == (1, 2, 3)  # NAS-Bench-201: node j has j inputs
  assert pc_darts.node_sizes(9) == (2, 3, 4)  # a DARTS cell of 3 nodes
  for edges, sizes in ((14, (2, 3, 4, 5)), (6, (1, 2, 3))):
    betas = rng.normal(size=edges).astype(np.float32)
    weights = np.asarray(pc_darts.edge_weights(jnp.asarray(betas)))
    np.testing.assert_allclose(weights, _edge_softmax(betas, sizes), rtol=1e-6)
    np.testing.assert_allclose(np.add.reduceat(weights, np.cumsum((0,) + sizes[:-1])), 1.0,
                               rtol=1e-6)


def test_relax_wraps_the_softmax_with_edge_weights_and_expected_multiplies_them():
  rng = np.random.default_rng(1)
  alphas = {"cell": jnp.asarray(rng.normal(size=(6, 5)), jnp.float32),
            "edges_cell": jnp.asarray(rng.normal(size=6), jnp.float32)}
  method = methods.get("pc_darts")
  softmax = np.exp(alphas["cell"]) / np.exp(alphas["cell"]).sum(-1, keepdims=True)
  edge_w = _edge_softmax(np.asarray(alphas["edges_cell"]), (1, 2, 3))
  mixing = jax.jit(method.relax)(alphas, None, {})
  assert set(mixing) == {"cell"} and isinstance(mixing["cell"], mixed.EdgeMixing)
  np.testing.assert_allclose(mixing["cell"].weights, softmax, rtol=1e-5)
  np.testing.assert_allclose(mixing["cell"].edge_weights, edge_w, rtol=1e-5)
  assert set(method.expected(alphas, {})) == {"cell"}
  np.testing.assert_allclose(method.expected(alphas, {})["cell"], softmax * edge_w[:, None],
                             rtol=1e-5)
  # Without edge alphas (edge_normalization=False): DARTS' softmax.
  plain = method.relax({"cell": alphas["cell"]}, None, {})
  np.testing.assert_allclose(plain["cell"], softmax, rtol=1e-5)


def test_edge_weights_change_the_darts_rule_ranking_as_their_genotype_does():
  """Their ``_parse(weights, weights2)``: each row times its edge weight before the ranking of a
  node's inputs. Alphas where that ranking differs from the softmax's."""
  space = spaces.get("darts_cnn")
  method = methods.get("pc_darts")
  rng = np.random.default_rng(0)
  for _ in range(100):
    alphas = {label: rng.normal(size=(14, 8)) for label in ("normal", "reduce")}
    alphas.update({f"edges_{label}": 2 * rng.normal(size=14) for label in ("normal", "reduce")})
    softmax = {k: np.exp(alphas[k]) / np.exp(alphas[k]).sum(-1, keepdims=True)
               for k in ("normal", "reduce")}
    scaled = {k: softmax[k] * _edge_softmax(alphas[f"edges_{k}"], (2, 3, 4, 5))[:, None]
              for k in softmax}
    if space.discretize(scaled) != space.discretize(softmax):
      break
  genotype, weights = search.discretize(space, alphas, method)
  assert genotype == space.discretize(scaled) != space.discretize(softmax)
  assert set(weights) == {"normal", "reduce"}
  for k in softmax:
    np.testing.assert_allclose(weights[k], scaled[k], rtol=1e-5, atol=1e-7)


def test_the_method_builds_its_network_and_warm_up():
  method = methods.get("pc_darts")
  assert methods.defaults("pc_darts") == {"partial_channels": 4, "edge_normalization": True,
                                          "warmup_epochs": 15}
  assert method.network == {"partial_channels": 4, "edge_normalization": True}
  assert [method.hyper(e, 50)["train_alphas"] for e in (0, 14, 15, 49)] == [0, 0, 1, 1]
  assert "train_alphas" not in methods.get("pc_darts", {"warmup_epochs": 0}).hyper(0, 50)
  model = supernet.build(spaces.get("nb201"), rngs=nnx.Rngs(0), channels=4, cells_per_stage=1,
                         **method.network)
  assert {k: v[...].shape for k, v in model.alphas.items()} == {"cell": (6, 5),
                                                                "edges_cell": (6,)}
  with pytest.raises(ValueError, match="partial_channels"):
    methods.get("pc_darts", {"partial_channels": 0})


def test_config_recipes():
  darts, nb201 = pc_darts_config.get_config(), pc_darts_config.get_config("nb201")
  assert (darts.space, nb201.space) == ("darts_cnn", "nb201")
  assert (darts.method, darts.batch_size, darts.weights.lr, darts.alphas.lr,
          darts.alphas.weight_decay, darts.epochs) == ("pc_darts", 256, 0.1, 6e-4, 1e-3, 50)
  assert darts.method_options.to_dict() == {"partial_channels": 4, "edge_normalization": True,
                                            "warmup_epochs": 15}
  for arg in ("", "nb201", "quick", "nb201,quick", "cifar10", "nb201,cifar10,quick"):
    config = pc_darts_config.get_config(arg)
    search.check_config(config)
    methods.get(config.method, config.method_options)
  assert pc_darts_config.get_config("nb201,quick").method_options.warmup_epochs == 0
  with pytest.raises(ValueError, match="nb201"):
    pc_darts_config.get_config("nb101")


def test_tiny_nb201_search_trains_the_edge_weights_and_parses_their_product(tmp_path):
  config = pc_darts_config.get_config("nb201,quick")
  config.tensorboard = False  # one epoch (the quick config's)
  config.diagnostics.hessian_iterations = 0
  result = search.run(config, str(tmp_path), report=lambda _: None)
  assert [r["epoch"] for r in result.history] == [0]
  for record in result.history:
    numbers = [v for v in record.values() if isinstance(v, (int, float))]
    assert all(math.isfinite(v) for v in numbers), record
  assert set(result.alphas) == {"cell", "edges_cell"}
  assert np.abs(result.alphas["edges_cell"]).max() > 2 * config.alphas.lr  # the betas moved
  space = spaces.get("nb201")
  space.validate(result.genotype)
  a = result.alphas
  softmax = np.exp(a["cell"]) / np.exp(a["cell"]).sum(-1, keepdims=True)
  product = softmax * _edge_softmax(a["edges_cell"], (1, 2, 3))[:, None]
  np.testing.assert_allclose(result.history[-1]["alphas"]["cell"], product, atol=1e-4)
  assert result.genotype == space.discretize({"cell": product})
  assert str(result.genotype) == result.history[-1]["genotype"]
