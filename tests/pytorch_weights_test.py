"""PyTorch DARTS state dicts in and out (``pytorch_weights``): the reference's names and OIHW shapes
(golden README, section 2), exact round trips (also through .npz), clear errors, and the layouts
checked against ``lax.conv_general_dilated`` in NCHW/OIHW, as PyTorch computes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import genotypes, pytorch_weights, spaces, supernet
from darts_jax.pytorch_weights import StateDictError

C = 2  # both networks: 3 cells, reductions at cells 1 and 2 (C doubles: 2, 4, 8)
V2 = genotypes.PUBLISHED["DARTS_V2"]


@pytest.fixture(scope="module")
def search_net():
  return supernet.build(spaces.get("darts_cnn"), channels=C, layers=3, rngs=nnx.Rngs(0))


@pytest.fixture(scope="module")
def eval_net():
  return supernet.fixed(V2, channels=C, layers=3, auxiliary=True, rngs=nnx.Rngs(0))


def _random_like(state: dict, seed: int) -> dict:
  rng = np.random.default_rng(seed)
  return {k: rng.normal(size=v.shape).astype(v.dtype) for k, v in state.items()}


def _assert_same(actual: dict, expected: dict):
  assert sorted(actual) == sorted(expected)
  for name, value in expected.items():
    np.testing.assert_array_equal(actual[name], value, err_msg=name)


def test_search_net_entries_have_the_reference_names_and_oihw_shapes(search_net):
  state = pytorch_weights.state_dict(search_net)
  shapes = {
      "stem.0.weight": (3 * C, 3, 3, 3),
      "stem.1.weight": (3 * C,),  # the stem's BN is affine ...
      "cells.0.preprocess0.op.1.weight": (C, 3 * C, 1, 1),
      "cells.0.preprocess0.op.2.running_var": (C,),
      "cells.0._ops.13._ops.4.op.5.weight": (C, 1, 3, 3),  # sep_conv_3x3, second depthwise
      "cells.0._ops.13._ops.5.op.6.weight": (C, C, 1, 1),  # sep_conv_5x5, second pointwise
      "cells.0._ops.2._ops.7.op.1.weight": (C, 1, 5, 5),  # dil_conv_5x5, depthwise
      "cells.1._ops.0._ops.1.1.running_mean": (2 * C,),  # a max pool's BN in a reduction cell
      "cells.1._ops.13._ops.2.1.running_var": (2 * C,),  # an avg pool's BN
      "cells.1._ops.0._ops.3.conv_1.weight": (C, 2 * C, 1, 1),  # FactorizedReduce on a strided edge
      "cells.1._ops.10._ops.3.bn.running_mean": (2 * C,),
      "cells.2.preprocess0.conv_2.weight": (2 * C, 4 * C, 1, 1),  # after a reduction: 8 -> 4 + 4
      "cells.2.preprocess1.op.1.weight": (4 * C, 8 * C, 1, 1),
      "classifier.weight": (10, 16 * C),
      "alphas_normal": (14, 8),
      "alphas_reduce": (14, 8),
  }
  assert {name: state[name].shape for name in shapes} == shapes
  absent = ["cells.0._ops.0._ops.0",  # none
            "cells.0._ops.0._ops.3",  # skip_connect at stride 1 (Identity)
            "cells.1._ops.4._ops.3",  # ... also on a reduction cell's node edge
            "cells.0._ops.0._ops.4.op.3.weight",  # ... the cells' BNs are not affine
            "cells.0._ops.0._ops.1.1.weight"]
  assert not [k for k in state for prefix in absent if k.startswith(prefix)]
  # Entries, counted from the reference's modules: stem 1 + 4; per edge 2 pool BNs x 2 buffers,
  # 2 sep_convs x 8, 2 dil_convs x 4 = 28, plus 4 for a strided edge's FactorizedReduce; preprocess
  # 3 + 3 (4 for a FactorizedReduce); classifier 2; alphas 2.
  assert len(state) == 5 + (6 + 14 * 28) + (6 + 14 * 28 + 8 * 4) + (7 + 14 * 28 + 8 * 4) + 2 + 2


def test_evaluation_net_entries_have_the_reference_names_and_oihw_shapes(eval_net):
  state = pytorch_weights.state_dict(eval_net)
  shapes = {
      "cells.0._ops.0.op.1.weight": (C, 1, 3, 3),  # normal[0] = sep_conv_3x3
      "cells.0._ops.0.op.7.weight": (C,),  # affine BNs
      "cells.0._ops.7.op.2.weight": (C, C, 1, 1),  # normal[7] = dil_conv_3x3
      "cells.2.preprocess0.bn.bias": (4 * C,),
      "auxiliary_head.features.2.weight": (128, 16 * C, 1, 1),  # reads cell 2 (= 2 * 3 // 3)
      "auxiliary_head.features.5.weight": (768, 128, 2, 2),
      "auxiliary_head.features.6.running_mean": (768,),
      "auxiliary_head.classifier.weight": (10, 768),
  }
  assert {name: state[name].shape for name in shapes} == shapes
  # Skips at stride 1 are identities; DARTS_V2's reduction cells hold only pools (no BN here) and
  # skips from nodes: no entries.
  assert not [k for k in state if k.startswith(("cells.0._ops.5.", "cells.0._ops.6.",
                                                "cells.1._ops.", "cells.2._ops."))]
  # stem 5; cell 0: preprocess 2 x 5, five sep_convs x 12, one dil_conv x 6; cells 1, 2:
  # preprocess 10 and 6 + 5; auxiliary head 12; classifier 2.
  assert len(state) == 5 + (10 + 5 * 12 + 6) + 10 + 11 + 12 + 2


@pytest.mark.parametrize("setting,channels,auxiliary,entries", [
    ("cifar", 4, True, 315), ("imagenet", 8, False, 314)])
def test_golden_networks_have_the_reference_entry_count(setting, channels, auxiliary, entries):
  """The golden README's NetworkCIFAR(4, 10, 5, auxiliary) and NetworkImageNet(8, 10, 5): 315 and
  314 state_dict entries, one num_batches_tracked per BN included (built abstractly)."""
  model = nnx.eval_shape(lambda: supernet.fixed(V2, setting=setting, channels=channels, layers=5,
                                                auxiliary=auxiliary, rngs=nnx.Rngs(0)))
  names = pytorch_weights.named_leaves(model)
  batch_norms = [k for k in names if k.endswith(".running_mean")]
  assert len(names) + len(batch_norms) == entries


def test_imagenet_auxiliary_head_has_no_second_batch_norm():
  """quark0/darts AuxiliaryHeadImageNet comments its BatchNorm2d(768) out: features.5 is the 2x2
  conv, then features.6 is a ReLU (no entries)."""
  model = nnx.eval_shape(lambda: supernet.fixed(V2, setting="imagenet", channels=8, layers=5,
                                                auxiliary=True, rngs=nnx.Rngs(0)))
  names = pytorch_weights.named_leaves(model)
  assert {"stem0.0.weight", "stem0.4.running_var", "stem1.1.weight", "stem1.2.bias",
          "auxiliary_head.features.5.weight",
          "auxiliary_head.features.3.running_mean"} <= set(names)
  assert not [k for k in names if k.startswith("auxiliary_head.features.6")]


@pytest.mark.parametrize("network", ["search_net", "eval_net"])
def test_loading_then_exporting_gives_the_same_tensors_also_through_npz(network, request, tmp_path):
  model = request.getfixturevalue(network)
  state = _random_like(pytorch_weights.state_dict(model), seed=1)
  pytorch_weights.load_state_dict(model, state)
  _assert_same(pytorch_weights.state_dict(model), state)
  state = _random_like(state, seed=2)
  np.savez(tmp_path / "state.npz", **state)
  pytorch_weights.load_state_dict(model, tmp_path / "state.npz")
  _assert_same(pytorch_weights.state_dict(model), state)


def test_num_batches_tracked_entries_are_accepted_and_ignored(eval_net):
  state = pytorch_weights.state_dict(eval_net)
  counters = {k.replace(".running_mean", ".num_batches_tracked"): np.array(7, np.int64)
              for k in state if k.endswith(".running_mean")}
  assert "stem.1.num_batches_tracked" in counters
  pytorch_weights.load_state_dict(eval_net, {**state, **counters})
  _assert_same(pytorch_weights.state_dict(eval_net), state)
  with pytest.raises(StateDictError, match=r"1 unknown entry \(stem\.0\.num_batches_tracked\)"):
    pytorch_weights.load_state_dict(eval_net, {**state, "stem.0.num_batches_tracked": np.array(1)})


def test_unknown_missing_and_mis_shaped_entries_are_named(search_net):
  state = pytorch_weights.state_dict(search_net)
  with pytest.raises(StateDictError, match=r"1 unknown entry \(cells\.0\._ops\.14\._ops\.4"):
    pytorch_weights.load_state_dict(search_net, {**state, "cells.0._ops.14._ops.4.op.1.weight":
                                                 state["cells.0._ops.13._ops.4.op.1.weight"]})
  partial = {k: v for k, v in state.items() if k not in ("stem.0.weight", "classifier.bias")}
  with pytest.raises(StateDictError, match=r"2 missing \(classifier\.bias, stem\.0\.weight\)"):
    pytorch_weights.load_state_dict(search_net, partial)
  wrong = {**state, "classifier.weight": np.zeros((10, 5), np.float32),
           "alphas_reduce": np.zeros((14, 7), np.float32)}
  with pytest.raises(StateDictError, match="2 of the wrong shape") as info:
    pytorch_weights.load_state_dict(search_net, wrong)
  assert "classifier.weight: (10, 5), expected (10, 32)" in str(info.value)
  assert "alphas_reduce: (14, 7), expected (14, 8)" in str(info.value)
  _assert_same(pytorch_weights.state_dict(search_net), state)  # a refused load changes nothing
  pytorch_weights.load_state_dict(search_net, partial, strict=False)  # missing ones allowed
  with pytest.raises(StateDictError, match="alphas_normal"):  # no alphas in an evaluation net
    pytorch_weights.load_state_dict(
        supernet.fixed(V2, channels=C, layers=3, rngs=nnx.Rngs(0)),
        {"alphas_normal": state["alphas_normal"]}, strict=False)


def _nchw_conv(x, w, *, stride=1, padding=0, groups=1):
  """PyTorch's conv2d: NCHW input, OIHW weight."""
  return jax.lax.conv_general_dilated(
      x, w, (stride, stride), [(padding, padding)] * 2, dimension_numbers=("NCHW", "OIHW", "NCHW"),
      feature_group_count=groups, precision=jax.lax.Precision.HIGHEST)


def test_loaded_oihw_weights_compute_what_pytorch_computes(eval_net):
  """Dense (3 -> 3C, 3x3), depthwise ((C, 1, 3, 3), groups C), pointwise (C x C: a swapped in/out
  would still fit) and linear ((out, in): y = x W^T + b) weights, loaded from the reference's
  layouts, against the same computation in NCHW/OIHW."""
  rng = np.random.default_rng(0)
  tensors = {"stem.0.weight": (3 * C, 3, 3, 3), "cells.0._ops.0.op.1.weight": (C, 1, 3, 3),
             "cells.0._ops.0.op.2.weight": (C, C, 1, 1), "classifier.weight": (10, 16 * C),
             "classifier.bias": (10,)}
  w = {k: rng.normal(size=shape).astype(np.float32) for k, shape in tensors.items()}
  pytorch_weights.load_state_dict(eval_net, w, strict=False)
  nhwc = lambda x: jnp.asarray(x.transpose(0, 2, 3, 1))
  close = lambda ours, nchw: np.testing.assert_allclose(np.asarray(ours).transpose(0, 3, 1, 2),
                                                        nchw, rtol=1e-5, atol=1e-5)
  images = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
  close(eval_net.stem.conv(nhwc(images)), _nchw_conv(images, w["stem.0.weight"], padding=1))
  sep_conv = eval_net.cells[0].ops[0]
  x = rng.normal(size=(2, C, 8, 8)).astype(np.float32)
  close(sep_conv.first.depthwise(nhwc(x)),
        _nchw_conv(x, w["cells.0._ops.0.op.1.weight"], padding=1, groups=C))
  close(sep_conv.first.pointwise(nhwc(x)), _nchw_conv(x, w["cells.0._ops.0.op.2.weight"]))
  features = rng.normal(size=(2, 16 * C)).astype(np.float32)
  np.testing.assert_allclose(eval_net.classifier(jnp.asarray(features)),
                             features @ w["classifier.weight"].T + w["classifier.bias"],
                             rtol=1e-5, atol=1e-5)


def test_loading_one_edge_of_a_stacked_group_changes_that_edge_only(search_net):
  """Our edges are stacked in groups; the reference's ``cells.0._ops.5`` (node 2, input s0) is one
  index of one stacked variable, and only that index may change."""
  before = pytorch_weights.state_dict(search_net)
  leaves_before = [np.array(leaf) for leaf in jax.tree.leaves(nnx.state(search_net))]
  name = "cells.0._ops.5._ops.4.op.1.weight"  # sep_conv_3x3's first depthwise conv
  value = np.random.default_rng(3).normal(size=before[name].shape).astype(np.float32)
  pytorch_weights.load_state_dict(search_net, {name: value}, strict=False)
  after = pytorch_weights.state_dict(search_net)
  np.testing.assert_array_equal(after[name], value)
  assert [k for k in before if k != name and not np.array_equal(after[k], before[k])] == []
  leaves_after = [np.asarray(leaf) for leaf in jax.tree.leaves(nnx.state(search_net))]
  changed = [np.argwhere(a != b) for a, b in zip(leaves_before, leaves_after)
             if a.shape != b.shape or not np.array_equal(a, b)]
  assert len(changed) == 1 and len(changed[0]) == value.size  # one variable, that many numbers,
  assert len(set(changed[0][:, 0])) == 1  # all at one index of the stacked axis (one edge)
