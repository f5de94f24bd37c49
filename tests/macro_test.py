"""The macro space: alpha groups, discretization, validation, networks, and a cost-aware alpha step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from darts_jax import architects, genotypes, optim, supernet, variables
from darts_jax.cost import objective, params, trace
from darts_jax.spaces.macro import Macro, MacroGenotype

TINY = Macro(stages=((8, 2, 1), (16, 2, 2)))
SIZE = {"stem_channels": 8, "head_channels": 16}


def test_alpha_groups_discretize_to_a_readable_genotype_that_parses_back(tmp_path):
  assert TINY.alpha_shapes() == {"first": (2, 6), "blocks": (2, 7)}
  alphas = {"first": np.eye(6)[[0, 1]], "blocks": np.eye(7)[[6, 5]]}
  genotype = TINY.discretize(alphas)
  assert str(genotype) == "macro:mb3_k3,skip,mb3_k5,mb6_k7"
  assert TINY.parse(str(genotype)) == genotype
  path = tmp_path / "genotype.json"
  genotypes.save(genotype, path)
  assert TINY.parse(str(path)) == genotype


@pytest.mark.parametrize("text,message", [
    ("macro:skip,skip,mb3_k5,mb6_k7", "block 0 opens a stage"),
    ("macro:mb3_k3,skip,mb3_k5", "has 4 blocks"),
    ("macro:mb3_k3,skip,mb3_k9,mb6_k7", "mb3_k9"),
    ("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "reads macro:"),
])
def test_bad_genotypes_are_clear_errors(text, message):
  with pytest.raises(genotypes.GenotypeError, match=message):
    TINY.parse(text)


def test_genotype_of_another_space_is_a_clear_error():
  with pytest.raises(genotypes.GenotypeError, match="for the nb201 space, not macro"):
    TINY.validate(genotypes.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))


def _output_shape(model, x):
  fn, state = trace.inference(model)
  return jax.eval_shape(fn, state, x).shape


def test_fixed_network_and_supernet_run_and_skip_shrinks_the_network():
  x = jnp.ones((2, 8, 8, 3))
  assert _output_shape(nnx.eval_shape(lambda: supernet.build(TINY, rngs=nnx.Rngs(0), **SIZE)),
                       x) == (2, 10)
  full = nnx.eval_shape(lambda: supernet.fixed(MacroGenotype(["mb6_k7"] * 4), TINY,
                                               rngs=nnx.Rngs(0), **SIZE))
  lean = supernet.fixed(MacroGenotype(["mb3_k3", "skip", "mb3_k3", "skip"]), TINY,
                        rngs=nnx.Rngs(0), **SIZE)
  assert _output_shape(full, x) == (2, 10)
  fn, state = trace.inference(lean)
  assert np.all(np.isfinite(jax.jit(fn)(state, x)))
  assert params.count(lean) < params.count(full)


def test_cost_aware_alpha_steps_move_every_block_to_cheaper_candidates():
  """The same first-order architect, with only the MACs term as the loss: expected cost falls."""
  _, arch, weights, _ = variables.split(supernet.build(TINY, rngs=nnx.Rngs(0), **SIZE))
  costs = objective.macro_costs(TINY, SIZE["stem_channels"], 8, "macs")
  assert costs["blocks"][:, -1].max() == 0 and np.all(costs["first"][:, 5] > costs["first"][:, 0])
  expected = lambda a: objective.expected_cost(nnx.to_pure_dict(a)["alphas"], costs)
  loss = lambda a, w, b: (expected(a), None)
  tx = optim.alpha_optimizer(0.1)
  opt_state, before = tx.init(arch), expected(arch)
  for _ in range(5):
    grads, _ = architects.first_order(loss, arch, weights, None, None)
    updates, opt_state = tx.update(grads, opt_state, arch)
    arch = optax.apply_updates(arch, updates)
  assert expected(arch) < before
  genotype = TINY.discretize({k: np.asarray(v) for k, v in nnx.to_pure_dict(arch)["alphas"].items()})
  assert genotype.blocks == ("mb3_k3", "skip", "mb3_k3", "skip")
