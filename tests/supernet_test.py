"""Supernets and fixed networks against reference ops written here with lax primitives (mixed
ops, search and fixed cells, the NAS-Bench-201 network); extensibility, variable types, published
facts."""

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


# ----------------------------------------------------------------------------------------------
# A reference for every op, written here with lax primitives on the op's own (extracted) weights,
# from the definitions of the original code (quark0/darts ``operations.py``, ``model_search.py``;
# the golden README, section 2): NHWC, PyTorch's symmetric padding, train-mode BatchNorm (batch
# mean, biased batch variance, eps 1e-5). Only the weights come from the modules under test.

EPS = 1e-5
NAMES = spaces.PRIMITIVES + ("nor_conv_1x1", "nor_conv_3x3")
POOLS = ("max_pool_3x3", "avg_pool_3x3")


def _value(variable, edge):
  """A variable's value; at ``edge`` when it is stacked over a group's edges."""
  value = jnp.asarray(variable[...])
  return value if edge is None else value[edge]


def ref_bn(x, bn, edge=None):
  mean = x.mean(axis=(0, 1, 2))
  y = (x - mean) / jnp.sqrt(jnp.square(x - mean).mean(axis=(0, 1, 2)) + EPS)
  return y if bn.scale is None else y * _value(bn.scale, edge) + _value(bn.bias, edge)


def ref_conv(x, conv, edge=None, *, stride=1, padding=0, dilation=1):
  kernel = _value(conv.kernel, edge).astype(x.dtype)  # HWIO; (k, k, 1, C) when depthwise
  return jax.lax.conv_general_dilated(
      x, kernel, (stride, stride), [(padding, padding)] * 2, rhs_dilation=(dilation, dilation),
      dimension_numbers=("NHWC", "HWIO", "NHWC"),
      feature_group_count=x.shape[-1] // kernel.shape[2])


def ref_max_pool(x, stride):  # PyTorch pads max pooling with -inf
  return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, stride, stride, 1),
                               ((0, 0), (1, 1), (1, 1), (0, 0)))


def ref_avg_pool(x, stride):  # count_include_pad=False: divide by the in-bounds pixels
  window = lambda v: jax.lax.reduce_window(v, 0.0, jax.lax.add, (1, 3, 3, 1),
                                           (1, stride, stride, 1), ((0, 0), (1, 1), (1, 1), (0, 0)))
  return window(x) / window(jnp.ones_like(x))


def ref_relu_conv_bn(x, m, edge=None, *, stride=1, padding=0):
  return ref_bn(ref_conv(jax.nn.relu(x), m.conv, edge, stride=stride, padding=padding), m.bn, edge)


def ref_factorized_reduce(x, m, edge=None):
  """ReLU, then BN(cat(conv_1(y), conv_2(y[:, :, 1:, 1:]))) with 1x1 stride-2 convs (NCHW there)."""
  y = jax.nn.relu(x)
  both = [ref_conv(y, m.conv_a, edge, stride=2), ref_conv(y[:, 1:, 1:], m.conv_b, edge, stride=2)]
  return ref_bn(jnp.concatenate(both, axis=-1), m.bn, edge)


def ref_dil_conv(x, m, edge=None, *, stride, padding, dilation):
  """ReLU, depthwise conv, pointwise conv, BN."""
  y = ref_conv(jax.nn.relu(x), m.depthwise, edge, stride=stride, padding=padding,
               dilation=dilation)
  return ref_bn(ref_conv(y, m.pointwise, edge), m.bn, edge)


def ref_op(name, m, x, stride, edge=None, *, pool_bn=False):
  """Op ``name`` (module ``m``, at ``edge`` of a stacked group) on ``x``; ``pool_bn``: the pools
  are ``Sequential(pool, BatchNorm2d(C, affine=False))``, as in the DARTS search cell."""
  if name == "none":
    return jnp.zeros_like(x[:, ::stride, ::stride])
  if name in POOLS:
    y = (ref_max_pool if name == "max_pool_3x3" else ref_avg_pool)(x, stride)
    return ref_bn(y, m.bn, edge) if pool_bn else y
  if name == "skip_connect":
    return x if stride == 1 else ref_factorized_reduce(x, m, edge)
  k = int(name[-1])
  if name.startswith("sep_conv"):  # two dil_convs without dilation, the stride on the first
    y = ref_dil_conv(x, m.first, edge, stride=stride, padding=k // 2, dilation=1)
    return ref_dil_conv(y, m.second, edge, stride=1, padding=k // 2, dilation=1)
  if name.startswith("dil_conv"):
    return ref_dil_conv(x, m, edge, stride=stride, padding=k - 1, dilation=2)
  if name.startswith("nor_conv"):
    return ref_relu_conv_bn(x, m, edge, stride=stride, padding=k // 2)
  raise ValueError(f"no reference for {name}")


def _check_mixed_op(stride, pool_bn, dtype, atol, one_hot=True):
  mixed = MixedOp(NAMES, 4, stride, 2, batchnorm_after=POOLS if pool_bn else (),
                  rngs=nnx.Rngs(0))
  x = _images((2, 2, 8, 8, 4)).astype(dtype)
  ref = [[ref_op(name, op, x[e], stride, e, pool_bn=pool_bn) for name, op in zip(NAMES, mixed.ops)]
         for e in range(2)]
  weights = jax.nn.softmax(jax.random.normal(jax.random.key(1), (2, len(NAMES)), dtype), axis=-1)
  expected = [sum(weights[e, k] * ref[e][k] for k in range(len(NAMES))) for e in range(2)]
  y = mixed(x, weights)
  assert y.dtype == dtype
  chex.assert_trees_all_close(y, jnp.stack(expected), atol=atol)
  for k, name in enumerate(NAMES if one_hot else ()):
    y = mixed(x, jax.nn.one_hot(jnp.array([k, k]), len(NAMES), dtype=dtype))
    chex.assert_trees_all_close(y, jnp.stack([ref[0][k], ref[1][k]]), atol=atol,
                                custom_message=f"one-hot {name}")


@pytest.mark.parametrize("stride,pool_bn", [(1, True), (2, True), (1, False)])
def test_mixed_op_is_the_weighted_sum_of_reference_ops_and_one_hot_picks_one(stride, pool_bn):
  """Two stacked edges; pool_bn as the DARTS search cell (a non-affine BN after each pool), and
  without it as the NAS-Bench-201 supernet."""
  _check_mixed_op(stride, pool_bn, jnp.float32, atol=1e-5)


def test_mixed_op_in_float64_equals_the_float64_reference():
  """Under x64 every op computes in float64: equal to the float64 reference to 1e-10 (float32
  anywhere inside would leave errors near 1e-7)."""
  with jax.enable_x64(True):
    _check_mixed_op(2, True, jnp.float64, atol=1e-10, one_hot=False)


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


def _reference_edge(edges: staging.StagedEdges, names, edge, row, weights, x, stride, pool_bn):
  """``sum_k w[row, k] * op_k(x)`` by the reference ops, on the edge's own weights (its slice of
  its stage's stacked group)."""
  [(stage, position)] = [(s, p) for s, stage in enumerate(edges.stages)
                         for p, e in enumerate(stage) if e == edge]
  return sum(weights[row, k] * ref_op(name, op, x, stride, position, pool_bn=pool_bn)
             for k, (name, op) in enumerate(zip(names, edges.groups[stage].ops)))


@pytest.mark.parametrize("reduction", [False, True])
def test_darts_search_cell_equals_the_reference_cell(reduction):
  """The staged, vectorized cell against the DARTS definition: preprocess (ReLUConvBN, or
  FactorizedReduce after a reduction), node j = sum over inputs i < j of the mixed op of edge
  (j, i), stride 2 on a reduction cell's input edges, pools followed by a non-affine BN, and the
  four nodes concatenated."""
  space = spaces.get("darts_cnn")
  plan = darts_network.CellPlan(6, 8, 4, reduction, reduction_prev=not reduction)
  cell = darts_network.SearchCell(space, plan, rngs=nnx.Rngs(0))
  weights = jax.nn.softmax(jax.random.normal(jax.random.key(1), (space.num_edges, 8)), axis=-1)
  s0 = _images((2, 8, 8, 6) if reduction else (2, 16, 16, 6), seed=2)
  s1 = _images((2, 8, 8, 8), seed=3)
  preprocess0 = ref_relu_conv_bn if reduction else ref_factorized_reduce
  states = [preprocess0(s0, cell.preprocess.input0), ref_relu_conv_bn(s1, cell.preprocess.input1)]
  for node in range(space.steps):
    states.append(sum(
        _reference_edge(cell.edges, space.op_names, (node, i), space.edge_index(node, i), weights,
                        states[i], 2 if reduction and i < 2 else 1, pool_bn=True)
        for i in range(node + 2)))
  expected = jnp.concatenate(states[2:], axis=-1)
  chex.assert_trees_all_close(cell(s0, s1, weights), expected, atol=1e-5)


def test_nb201_search_cell_equals_the_reference_cell():
  """Node j = sum over i < j of the mixed op of edge i -> j; no BN after the pools."""
  space = spaces.get("nb201")
  cell = nb201_network.SearchCell(space, 4, rngs=nnx.Rngs(0))
  weights = jax.nn.softmax(jax.random.normal(jax.random.key(1), (space.num_edges, 5)), axis=-1)
  nodes = [_images((2, 8, 8, 4), seed=2)]
  for j in range(1, space.num_nodes):
    nodes.append(sum(_reference_edge(cell.edges, space.op_names, (j - 1, i), space.edge_index(j, i),
                                     weights, nodes[i], 1, pool_bn=False) for i in range(j)))
  chex.assert_trees_all_close(cell(nodes[0], weights), nodes[-1], atol=1e-5)


def _randomize_affine(module, seed):
  """Random BatchNorm scales and biases, so that a dropped or misplaced affine step shows."""
  key = jax.random.key(seed)
  for _, m in nnx.iter_modules(module):
    if isinstance(m, nnx.BatchNorm) and m.scale is not None:
      key, k1, k2 = jax.random.split(key, 3)
      m.scale.set_value(1.0 + 0.5 * jax.random.normal(k1, m.scale[...].shape))
      m.bias.set_value(jax.random.normal(k2, m.bias[...].shape))


# Every kind of op; a skip from input 0 (a FactorizedReduce in a reduction cell); concatenated out
# of order, so that the concat must follow the genotype.
FIXED_CELL = (("sep_conv_3x3", 0), ("dil_conv_5x5", 1), ("skip_connect", 0), ("max_pool_3x3", 2),
              ("avg_pool_3x3", 1), ("sep_conv_5x5", 3), ("dil_conv_3x3", 4), ("skip_connect", 2))
FIXED_CONCAT = (4, 2, 5, 3)


@pytest.mark.parametrize("reduction", [False, True])
def test_fixed_darts_cell_sums_its_genotype_edges_and_concatenates_in_genotype_order(reduction):
  """The evaluation cell (quark0/darts ``model.py``): node i = op_2i(states[idx_2i]) +
  op_2i+1(states[idx_2i+1]), affine BNs, pools without BN, stride 2 on a reduction cell's input
  edges, output cat(states[c] for c in concat)."""
  plan = darts_network.CellPlan(6, 8, 4, reduction, reduction_prev=not reduction)
  cell = darts_network.FixedCell(FIXED_CELL, FIXED_CONCAT, plan, rngs=nnx.Rngs(0))
  _randomize_affine(cell, seed=1)
  s0 = _images((2, 8, 8, 6) if reduction else (2, 16, 16, 6), seed=2)
  s1 = _images((2, 8, 8, 8), seed=3)
  preprocess0 = ref_relu_conv_bn if reduction else ref_factorized_reduce
  states = [preprocess0(s0, cell.preprocess.input0), ref_relu_conv_bn(s1, cell.preprocess.input1)]
  stride = lambda source: 2 if reduction and source < 2 else 1
  for node in range(4):
    edges = enumerate(FIXED_CELL[2 * node:2 * node + 2], start=2 * node)
    states.append(sum(ref_op(name, cell.ops[k], states[source], stride(source))
                      for k, (name, source) in edges))
  expected = jnp.concatenate([states[c] for c in FIXED_CONCAT], axis=-1)
  chex.assert_trees_all_close(cell(s0, s1), expected, atol=1e-5)


NB201_CELL = genotypes.parse("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+"
                             "|skip_connect~0|none~1|nor_conv_3x3~2|")


def ref_nb201_cell(cell, x):
  """node_j = sum over i < j of op_ij(node_i); the output is the last node."""
  nodes = [x]
  for node_ops, edges in zip(cell.ops, NB201_CELL.nodes):
    nodes.append(sum(ref_op(name, op, nodes[i], 1) for op, (name, i) in zip(node_ops, edges)))
  return nodes[-1]


def test_fixed_nb201_cell_and_network_equal_the_reference():
  """xautodl's NAS-Bench-201 network: stem conv 3x3 + BN; N cells; a residual block (ReLUConvBN
  3x3 stride 2, ReLUConvBN 3x3, shortcut 2x2 average pool + 1x1 conv); N cells; the block; N
  cells; BN, ReLU, global average pool, linear."""
  net = supernet.fixed(NB201_CELL, rngs=nnx.Rngs(0), channels=4, cells_per_stage=1)
  _randomize_affine(net, seed=1)
  x = _images((4, 8, 8, 3))
  cell, h = net.layers[0], _images((4, 8, 8, 4), seed=5)
  chex.assert_trees_all_close(cell(h), ref_nb201_cell(cell, h), atol=1e-5)
  residual = nb201_network.ResidualReduction
  assert [isinstance(layer, residual) for layer in net.layers] == [False, True, False, True, False]
  h = ref_bn(ref_conv(x, net.stem_conv, padding=1), net.stem_bn)
  for layer in net.layers:
    if isinstance(layer, residual):
      pooled = jax.lax.reduce_window(h, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4
      block = ref_relu_conv_bn(ref_relu_conv_bn(h, layer.conv_a, stride=2, padding=1),
                               layer.conv_b, padding=1)
      h = ref_conv(pooled, layer.shortcut) + block
    else:
      h = ref_nb201_cell(layer, h)
  features = jax.nn.relu(ref_bn(h, net.last_bn)).mean(axis=(1, 2))
  logits = features @ net.classifier.kernel[...] + net.classifier.bias[...]
  chex.assert_trees_all_close(net(x), logits, atol=1e-4, rtol=1e-4)


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
