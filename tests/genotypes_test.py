"""Genotypes: canonical strings, JSON, published cells, and both discretization rules."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import shared_file
from flax import nnx

from darts_jax import genotypes, ops, spaces, supernet, variables

NB201_BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_darts_v2_parses_from_the_literal_and_prints_back():
  literal = str(genotypes.PUBLISHED["DARTS_V2"])
  parsed = genotypes.parse(literal)
  assert parsed == genotypes.PUBLISHED["DARTS_V2"]
  assert str(parsed) == literal
  assert parsed.normal[7] == ("dil_conv_3x3", 2)


@pytest.mark.parametrize("name", sorted(genotypes.PUBLISHED))
def test_published_cells_match_the_shared_json(name):
  published = json.loads(shared_file("published_genotypes.json").read_text())[name]
  g = genotypes.PUBLISHED[name]
  assert [list(e) for e in g.normal] == published["normal"]
  assert [list(e) for e in g.reduce] == published["reduce"]
  assert list(g.normal_concat) == published["normal_concat"]
  assert list(g.reduce_concat) == published["reduce_concat"]


@pytest.mark.parametrize("g", [genotypes.PUBLISHED["PDARTS"], genotypes.parse_nb201(NB201_BEST)])
def test_json_and_string_round_trip(g, tmp_path):
  assert genotypes.from_json(json.loads(json.dumps(g.to_json()))) == g
  assert genotypes.parse(str(g)) == g
  genotypes.save(g, tmp_path / "genotype.json")
  assert genotypes.resolve(str(tmp_path / "genotype.json")) == g


V2 = genotypes.PUBLISHED["DARTS_V2"]
# A reduction cell that concatenates only nodes 2, 3, 4 (its normal cell keeps all four).
THREE_NODE_REDUCE = genotypes.DartsGenotype(V2.normal, (2, 3, 4, 5), V2.reduce, (2, 3, 4))


def test_reduce_concat_is_kept_apart_from_normal_concat_in_strings_and_json(tmp_path):
  text = str(THREE_NODE_REDUCE)
  assert text.endswith("normal_concat=[2, 3, 4, 5], reduce=" + str(list(V2.reduce))
                       + ", reduce_concat=[2, 3, 4])")
  written = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=[2], "
             "reduce=[('max_pool_3x3', 0), ('skip_connect', 1)], reduce_concat=[3, 2])")
  parsed = genotypes.parse(written)
  assert (parsed.normal_concat, parsed.reduce_concat) == ((2,), (3, 2))
  assert str(parsed) == written
  for g in (THREE_NODE_REDUCE, parsed):
    content = json.loads(json.dumps(g.to_json()))
    assert (content["normal_concat"], content["reduce_concat"]) == (list(g.normal_concat),
                                                                  list(g.reduce_concat))
    assert genotypes.from_json(content) == g
    assert genotypes.parse(str(g)) == g
  genotypes.save(THREE_NODE_REDUCE, tmp_path / "genotype.json")
  assert genotypes.load(tmp_path / "genotype.json").reduce_concat == (2, 3, 4)


def test_each_cell_outputs_its_own_concat_length_times_c():
  """quark0/darts ``model.py``: a cell's output has len(concat) * C channels, its own concat's. With
  C = 4, 5 cells (reductions at 1 and 3) and 3-node reductions, cells output 16, 24, 32, 48, 64
  channels, so the preprocess convs read (stem 12) these; built abstractly (shapes only)."""
  model = nnx.eval_shape(lambda: supernet.fixed(THREE_NODE_REDUCE, channels=4, layers=5,
                                                auxiliary=True, rngs=nnx.Rngs(0)))
  kernel = lambda m: m.conv_a.kernel.shape if isinstance(m, ops.FactorizedReduce) else (
      m.conv.kernel.shape)
  in_out = [(kernel(c.preprocess.input0)[2], kernel(c.preprocess.input1)[2]) for c in model.cells]
  assert in_out == [(12, 12), (12, 16), (16, 24), (24, 32), (32, 48)]
  assert model.auxiliary_head.conv1.kernel.shape[2] == 48  # the output of cell 3 (= 2 * 5 // 3)
  assert model.classifier.kernel.shape == (64, 10)
  # The reference network with all four nodes (golden README, NetworkCIFAR(4, 10, 5, True,
  # DARTS_V2)) has 422444 parameters; three-node reductions take 8 x 8 (cell 2 preprocess1),
  # 8 x 16 (cell 3 preprocess0), 16 x 16 (cell 4 preprocess1) and 16 x 128 (auxiliary conv) off.
  assert variables.count_weights(model) == 422444 - (64 + 128 + 256 + 2048)
  logits, auxiliary = nnx.eval_shape(lambda m, x: m(x, with_auxiliary=True), model,
                                     jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32))
  assert logits.shape == auxiliary.shape == (2, 10)


@pytest.mark.parametrize("text,token", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~2|", "avg_pool_3x3~2"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3-0|avg_pool_3x3~1|", "nor_conv_3x3-0"),
])
def test_malformed_nb201_strings_point_at_the_bad_token(text, token):
  with pytest.raises(genotypes.GenotypeError) as info:
    genotypes.parse(text)
  lines = str(info.value).splitlines()
  assert token in lines[0]
  assert lines[2].index("^") - 2 == text.index(token)


def test_malformed_darts_literal_names_the_field():
  text = "Genotype(normal=[('sep_conv_3x3', 0), 7], normal_concat=[2], reduce=[], reduce_concat=[2])"
  with pytest.raises(genotypes.GenotypeError, match=r"normal\[1\] = 7"):
    genotypes.parse(text)
  with pytest.raises(genotypes.GenotypeError, match="malformed"):
    genotypes.parse("Genotype(normal=[('sep_conv_3x3', 0)")
  with pytest.raises(genotypes.GenotypeError, match="missing field"):
    genotypes.parse("Genotype(normal=[])")


def test_unknown_op_and_wrong_space_are_rejected():
  darts = spaces.get("darts_cnn")
  bad = str(genotypes.PUBLISHED["DARTS_V2"]).replace("dil_conv_3x3", "dil_conv_9x9")
  with pytest.raises(genotypes.GenotypeError, match="dil_conv_9x9"):
    darts.parse(bad)
  with pytest.raises(genotypes.GenotypeError, match="nb201 space, not darts_cnn"):
    darts.parse(NB201_BEST)
  with pytest.raises(genotypes.GenotypeError, match="darts_cnn space, not nb201"):
    spaces.get("nb201").parse("DARTS_V2")


def test_darts_rule_keeps_two_strongest_non_none_edges_per_node():
  space = spaces.get("darts_cnn")
  ops = space.op_names
  alphas = np.zeros((14, 8))
  alphas[:, ops.index("none")] = 10.0  # 'none' is never chosen, however strong
  # node 0: inputs 0, 1; pick sep_conv_3x3 from 1 (strongest), max_pool from 0.
  alphas[0, ops.index("max_pool_3x3")] = 2.0
  alphas[1, ops.index("sep_conv_3x3")] = 3.0
  # node 3 (rows 9..13): strongest are input 4 (dil_conv_5x5) and input 2 (skip).
  alphas[13, ops.index("dil_conv_5x5")] = 5.0
  alphas[11, ops.index("skip_connect")] = 4.0
  alphas[9, ops.index("avg_pool_3x3")] = 1.0
  g = space.discretize({"normal": alphas, "reduce": alphas})
  assert g.normal[:2] == (("sep_conv_3x3", 1), ("max_pool_3x3", 0))
  assert g.normal[6:] == (("dil_conv_5x5", 4), ("skip_connect", 2))
  assert g.normal_concat == (2, 3, 4, 5)


def test_nb201_rule_takes_argmax_per_edge_including_none():
  space = spaces.get("nb201")
  target = genotypes.parse_nb201("|none~0|+|nor_conv_1x1~0|skip_connect~1|+"
                                 "|avg_pool_3x3~0|nor_conv_3x3~1|none~2|")
  alphas = np.zeros((6, 5))
  for j, node in enumerate(target.nodes, start=1):
    for op, i in node:
      alphas[space.edge_index(j, i), space.op_names.index(op)] = 1.0
  assert space.discretize({"cell": alphas}) == target


def test_discretize_rejects_alphas_of_the_wrong_shape():
  with pytest.raises(ValueError, match="expects"):
    spaces.get("nb201").discretize({"cell": np.zeros((6, 4))})


def test_the_reference_search_logs_range_concat_parses():
  """quark0/darts' Network.genotype() prints ``normal_concat=range(2, 6)``."""
  text = str(genotypes.PUBLISHED["DARTS_V2"]).replace("[2, 3, 4, 5]", "range(2, 6)")
  assert "range(2, 6)" in text
  assert genotypes.parse(text) == genotypes.PUBLISHED["DARTS_V2"]
