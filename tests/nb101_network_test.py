"""NAS-Bench-101 networks: vertex channels, cell semantics, shapes and weights under jit."""

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from darts_jax import genotypes, strategies, variables
from darts_jax.spaces import nb101
from darts_jax.spaces.nb101 import INPUT, OUTPUT, CellError, NB101Cell
from darts_jax.supernet import nb101_network
from experiments.configs import proxy_nb201

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
# input -> a -> output, input -> b -> output, a -> b
DIAMOND = NB101Cell([[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, C3, C1, OUTPUT])
CHAIN = NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, C3, OUTPUT])


def test_output_channels_are_split_over_the_concatenated_vertices():
  assert nb101_network.vertex_channels(4, 7, DIAMOND.array) == [4, 4, 3, 7]
  chain = np.triu(np.ones((4, 4), int), 1) * np.eye(4, k=1, dtype=int)
  assert nb101_network.vertex_channels(4, 6, chain) == [4, 6, 6, 6]


def test_cell_output_has_the_requested_channels_for_sampled_cells():
  rng = np.random.default_rng(0)
  x = jnp.zeros((1, 4, 4, 3))
  for _ in range(5):
    cell = nb101_network.Cell(nb101.NB101().sample(rng), 3, 7, rngs=nnx.Rngs(0))
    assert nnx.eval_shape(lambda c, x: c(x), cell, x).shape == (1, 4, 4, 7)


def test_weight_count_matches_the_closed_form():
  net = nb101_network.fixed_network(CHAIN, channels=4, stacks=1, cells_per_stack=1,
                                    in_channels=1, rngs=nnx.Rngs(0))
  stem = 3 * 3 * 1 * 4 + 2 * 4
  projection, conv = 4 * 4 + 2 * 4, 3 * 3 * 4 * 4 + 2 * 4
  assert variables.count_weights(net) == stem + projection + conv + 4 * 10 + 10


def test_input_to_output_edge_adds_a_projection():
  skip = NB101Cell([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, C3, OUTPUT])
  count = lambda c: variables.count_weights(nb101_network.Cell(c, 4, 4, rngs=nnx.Rngs(0)))
  assert count(skip) - count(CHAIN) == 4 * 4 + 2 * 4


@pytest.mark.parametrize("side, cell", [(8, DIAMOND), (9, CHAIN)])
def test_network_runs_under_jit_with_downsampling(side, cell):
  net = nb101_network.fixed_network(cell, channels=4, stacks=3, cells_per_stack=1,
                                    in_channels=1, rngs=nnx.Rngs(0))
  graphdef, state = nnx.split(net)
  forward = jax.jit(lambda state, x: nnx.merge(graphdef, state)(x))
  y = forward(state, jax.random.normal(jax.random.key(0), (2, side, side, 1)))
  chex.assert_shape(y, (2, 10))
  chex.assert_tree_all_finite(y)
  assert net.stacks[2][0].channels[-1] == 16


def test_invalid_cells_and_wrong_inputs_are_rejected():
  with pytest.raises(CellError, match="not reachable"):
    nb101_network.fixed_network(NB101Cell([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, C3, OUTPUT]),
                                rngs=nnx.Rngs(0))
  net = nb101_network.fixed_network(CHAIN, channels=4, stacks=1, cells_per_stack=1,
                                    rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="3 channels"):
    net(jnp.zeros((1, 8, 8, 1)))


def test_cells_round_trip_through_genotype_strings_and_json():
  assert genotypes.parse(str(DIAMOND)) == DIAMOND
  assert genotypes.from_json(DIAMOND.to_json()) == DIAMOND


def test_strategies_search_nb101_cells_with_the_proxy_evaluator():
  config = proxy_nb201.get_config("quick")
  config.network = ml_collections.ConfigDict({"channels": 4, "stacks": 2, "cells_per_stack": 1})
  evaluator = strategies.ProxyEvaluator(config, nb101.NB101())
  result = strategies.run(strategies.make("random", nb101.NB101(), seed=0), evaluator, budget=2)
  assert evaluator.num_queries == 2 and all(0.0 <= score <= 1.0 for _, score in result.history)
