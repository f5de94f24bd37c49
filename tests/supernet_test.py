"""Supernets and fixed networks: mixed-op semantics, extensibility, variable types, published facts."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import genotypes, ops, spaces, supernet, variables
from darts_jax.supernet import MixedOp, darts_network, nb201_network, staging

TINY = dict(channels=4, layers=3)  # reductions at cells 1 and 2


def _images(shape=(2, 8, 8, 3), seed=0):
  return jax.random.normal(jax.random.key(seed), shape)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("name", spaces.PRIMITIVES + ("nor_conv_1x1", "nor_conv_3x3"))
def test_one_hot_mixing_equals_the_chosen_op_alone(name, stride):
  names = spaces.PRIMITIVES + ("nor_conv_1x1", "nor_conv_3x3")
  mixed = MixedOp(names, 4, stride, 1, rngs=nnx.Rngs(0))
  single = ops.get(name)(4, stride, affine=False, rngs=nnx.Rngs(7))
  k = names.index(name)
  nnx.update(mixed.ops[k], jax.tree.map(lambda v: v[None], nnx.state(single)))
  x = _images((2, 6, 6, 4))
  y = mixed(x[None], jax.nn.one_hot(jnp.array([k]), len(names)))[0]
  chex.assert_trees_all_close(y, single(x), atol=1e-5)


def test_mixed_op_rejects_mismatched_weights():
  mixed = MixedOp(("skip_connect", "max_pool_3x3"), 4, 1, 2, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="2 edges x 2 ops"):
    mixed(jnp.zeros((2, 1, 4, 4, 4)), jnp.zeros((3, 2)))


@pytest.mark.parametrize("steps", [2, 3, 4, 5])
@pytest.mark.parametrize("reduction", [False, True])
def test_edge_stages_compute_every_edge_once_after_its_source(steps, reduction):
  stages = darts_network.edge_stages(steps, reduction)
  edges = [e for stage in stages for e in stage]
  assert sorted(edges) == sorted((j, i) for j in range(steps) for i in range(j + 2))
  done = (0,) + staging.nodes_done_after(stages)
  for stage, before in zip(stages, done):
    assert all(source < 2 + before for _, source in stage)
    if reduction:  # a group holds either strided input edges or stride-1 node edges
      assert len({source < 2 for _, source in stage}) == 1
  if steps == 4:
    assert [len(s) for s in stages] == ([8, 2, 2, 2] if reduction else [4, 4, 4, 2])


def _one_edge(edges: staging.StagedEdges, edge, row, weights, x):
  """``sum_k w[row, k] * op_k(x)`` with the edge's own op instances, sliced out of its stage's group."""
  [(stage, position)] = [(s, p) for s, stage in enumerate(edges.stages)
                         for p, e in enumerate(stage) if e == edge]
  total = 0.0
  for k, stacked in enumerate(edges.groups[stage].ops):
    graphdef, state = nnx.split(stacked)
    total = total + weights[row, k] * nnx.merge(graphdef, jax.tree.map(lambda v: v[position], state))(x)
  return total


@pytest.mark.parametrize("reduction", [False, True])
def test_darts_search_cell_equals_its_edges_summed_node_by_node(reduction):
  """The staged, vectorized cell against the DARTS definition: node j = sum over inputs i < j of
  sum_k w[edge(j, i), k] * op_k(state_i), each edge with its own op instance."""
  space = spaces.get("darts_cnn")
  plan = darts_network.CellPlan(6, 8, 4, reduction, False)
  cell = darts_network.SearchCell(space, plan, rngs=nnx.Rngs(0))
  weights = jax.nn.softmax(jax.random.normal(jax.random.key(1), (space.num_edges, 8)), axis=-1)
  s0, s1 = _images((2, 8, 8, 6), seed=2), _images((2, 8, 8, 8), seed=3)
  states = list(cell.preprocess(s0, s1))
  for node in range(space.steps):
    states.append(sum(_one_edge(cell.edges, (node, i), space.edge_index(node, i), weights, states[i])
                      for i in range(node + 2)))
  expected = jnp.concatenate(states[2:], axis=-1)
  chex.assert_trees_all_close(cell(s0, s1, weights), expected, atol=1e-5)


def test_nb201_search_cell_equals_its_edges_summed_node_by_node():
  space = spaces.get("nb201")
  cell = nb201_network.SearchCell(space, 4, rngs=nnx.Rngs(0))
  weights = jax.nn.softmax(jax.random.normal(jax.random.key(1), (space.num_edges, 5)), axis=-1)
  nodes = [_images((2, 8, 8, 4), seed=2)]
  for j in range(1, space.num_nodes):
    nodes.append(sum(_one_edge(cell.edges, (j - 1, i), space.edge_index(j, i), weights, nodes[i])
                     for i in range(j)))
  chex.assert_trees_all_close(cell(nodes[0], weights), nodes[-1], atol=1e-5)


def test_alphas_are_arch_params_not_params():
  net = supernet.build(spaces.get("darts_cnn"), rngs=nnx.Rngs(0), **TINY)
  _, arch, weights, stats = variables.split(net)
  assert not issubclass(variables.ArchParam, nnx.Param)
  assert {k: v.shape for k, v in nnx.to_pure_dict(arch)["alphas"].items()} == {
      "normal": (14, 8), "reduce": (14, 8)}
  assert all(leaf.ndim >= 1 for leaf in jax.tree.leaves(weights))
  assert variables.count_weights(net) == sum(x.size for x in jax.tree.leaves(weights))
  assert jax.tree.leaves(stats)  # search BN keeps running statistics
  alpha_values = jax.tree.leaves(arch)
  assert max(float(jnp.abs(a).max()) for a in alpha_values) < 0.01  # 1e-3 * N(0, 1)


def test_search_batch_norm_is_not_affine_but_stem_is():
  net = supernet.build(spaces.get("darts_cnn"), rngs=nnx.Rngs(0), **TINY)
  cell_bns = [m for path, m in nnx.iter_modules(net)
              if isinstance(m, nnx.BatchNorm) and "cells" in path]
  assert cell_bns and all(bn.scale is None and bn.bias is None for bn in cell_bns)
  assert net.stem.bn.scale is not None


def test_a_user_op_plugs_into_space_supernet_and_genotype():
  def sep_conv_7x7(channels, stride, *, affine, rngs):
    return ops.SepConv(channels, channels, 7, stride, 3, affine=affine, rngs=rngs)

  with ops.temporary_ops(sep_conv_7x7=sep_conv_7x7):
    space = spaces.get("darts_cnn", op_names=spaces.PRIMITIVES + ("sep_conv_7x7",))
    net = supernet.build(space, rngs=nnx.Rngs(0), **TINY)
    logits = nnx.jit(lambda m, x: m(x))(net, _images())
    chex.assert_shape(logits, (2, 10))
    favour = np.zeros((14, 9))
    favour[:, -1] = 1.0
    g = space.discretize({"normal": favour, "reduce": favour})
    assert g.ops() == {"sep_conv_7x7"}
    fixed = supernet.fixed(g, space, rngs=nnx.Rngs(1), **TINY)
    chex.assert_shape(nnx.jit(lambda m, x: m(x))(fixed, _images()), (2, 10))


def test_unknown_op_in_a_space_is_a_clear_error():
  with pytest.raises(KeyError, match="sep_conv_7x7.*Known ops"):
    spaces.get("darts_cnn", op_names=("none", "sep_conv_7x7"))


def test_wrong_image_shape_is_a_clear_error():
  net = supernet.build(spaces.get("nb201"), rngs=nnx.Rngs(0), channels=4, cells_per_stage=1)
  with pytest.raises(ValueError, match="3 channels"):
    net(jnp.zeros((2, 8, 8, 1)))


def test_forward_is_jittable_and_updates_batch_statistics():
  net = supernet.build(spaces.get("darts_cnn"), rngs=nnx.Rngs(0), **TINY)
  graphdef, arch, weights, stats = variables.split(net)

  @jax.jit
  def forward(arch, weights, stats, x):
    model = nnx.merge(graphdef, arch, weights, stats, copy=True)
    return model(x), nnx.state(model, nnx.BatchStat)

  logits, new_stats = forward(arch, weights, stats, _images())
  chex.assert_shape(logits, (2, 10))
  chex.assert_tree_all_finite(logits)
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), stats, new_stats)
  assert all(jax.tree.leaves(changed))


def test_nb201_supernet_and_fixed_network_run():
  space = spaces.get("nb201")
  net = supernet.build(space, rngs=nnx.Rngs(0), channels=4, cells_per_stage=1)
  chex.assert_shape(net(_images((2, 8, 8, 3))), (2, 10))
  g = genotypes.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|"
                      "skip_connect~2|")
  fixed = supernet.fixed(g, rngs=nnx.Rngs(0), channels=4, cells_per_stage=1)
  chex.assert_shape(fixed(_images((2, 8, 8, 3))), (2, 10))


def test_fixed_darts_v2_network_runs():
  net = supernet.fixed(genotypes.PUBLISHED["DARTS_V2"], rngs=nnx.Rngs(0), channels=4, layers=5)
  chex.assert_shape(net(_images()), (2, 10))


def test_paper_search_supernet_has_the_reference_parameter_count():
  """quark0/darts model_search.Network(16, 10, 8) has 1,930,618 weights (no alphas, no BN stats)."""
  net = supernet.build(spaces.get("darts_cnn"), rngs=nnx.Rngs(0))
  assert variables.count_weights(net) == 1_930_618


@pytest.mark.slow
def test_paper_search_supernet_forward_compiles_and_runs():
  net = supernet.build(spaces.get("darts_cnn"), rngs=nnx.Rngs(0))
  graphdef, state = nnx.split(net)
  forward = jax.jit(lambda state, x: nnx.merge(graphdef, state, copy=True)(x))
  logits = forward(state, jnp.ones((64, 32, 32, 3)))
  chex.assert_shape(logits, (64, 10))
  chex.assert_tree_all_finite(logits)
