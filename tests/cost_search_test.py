"""The cost term in the search loss: off by default, and a large weight steers alphas to cheap ops."""

import jax
import pytest

from darts_jax import data, optim, search
from darts_jax.cost import networks, objective, sites
from experiments.configs import nb201_digits


def _config(weight):
  c = nb201_digits.get_config("quick")
  c.cost.weight, c.cost.image_size = weight, 8
  return c


def test_zero_weight_or_no_cost_block_adds_no_term():
  assert objective.search_penalty(_config(0.0)) is None
  config = _config(0.0)
  del config["cost"]
  assert objective.search_penalty(config) is None


def test_unknown_source_and_form_are_clear_errors():
  config = _config(1.0)
  config.cost.source = "watts"
  with pytest.raises(ValueError, match="unknown cost source 'watts'"):
    objective.search_penalty(config)
  with pytest.raises(ValueError, match="unknown cost penalty form"):
    objective.penalty(1.0, form="quadratic", weight=1.0)
  with pytest.raises(ValueError, match="positive target"):
    objective.penalty(1.0, form="hinge", weight=1.0)


@pytest.fixture(scope="module")
def tiny_search():
  """The tiny NB201 supernet on digits, built once; its training and validation batches."""
  config = _config(0.0)
  dataset = data.load("digits", seed=0)
  schedule = optim.epoch_cosine(0.025, 0.001, 1, 10)
  graphdef, space, state = search.init_state(config, dataset, schedule)
  train, val = data.Batches(dataset.train, 32, seed=0), data.Batches(dataset.val, 32, seed=1)
  feed = data.Feed(dataset.train.normalization)
  return graphdef, space, state, schedule, [(feed(next(train)), feed(next(val))) for _ in range(8)]


def _search(tiny_search, weight):
  """Alpha steps only (the cost enters there); the genotype and its MACs."""
  graphdef, space, state, schedule, batches = tiny_search
  alpha_step, _ = search.make_steps(graphdef, _config(weight), schedule)
  alpha_step = jax.jit(alpha_step)
  for train, val in batches:
    state, _ = alpha_step(state, train, val)
  genotype = space.discretize(search.alphas_of(state))
  cells = sites.cell_shapes(space, networks.NetworkSize(channels=4, layers=1, image_size=8))
  return genotype, sum(objective.op_macs(s) for s in sites.genotype_sites(space, genotype, cells))


def test_large_cost_weight_picks_cheaper_ops_than_zero_weight(tiny_search):
  free, free_macs = _search(tiny_search, 0.0)
  cheap, cheap_macs = _search(tiny_search, 1000.0)
  assert free_macs > 0, free  # without the term the tiny search keeps some convolutions
  assert cheap_macs < free_macs, (cheap, free)
  assert "nor_conv_3x3" not in cheap.ops(), cheap  # the costliest op loses on every edge
