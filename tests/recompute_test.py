"""The recompute policies change what the backward pass keeps, never what it computes."""

import jax
import numpy as np
import pytest
from flax import nnx

from darts_jax import compiling, search, spaces, supernet, variables
from darts_jax.supernet import mixed


def gradients(recompute, **network):
  # One op of each kind (compile time grows with the op set).
  space = spaces.get("darts_cnn", op_names=("none", "max_pool_3x3", "skip_connect", "sep_conv_3x3"))
  model = supernet.build(space, rngs=nnx.Rngs(0), in_channels=1, recompute=recompute, **network)
  graphdef, arch, weights, stats = variables.split(model)
  loss = search.cross_entropy_loss(graphdef)
  batch = {"image": jax.random.normal(jax.random.key(1), (4, 8, 8, 1)),
           "label": np.arange(4, dtype=np.int32)}
  grad = jax.jit(jax.grad(lambda a, w: loss(a, w, stats, batch)[0], argnums=(0, 1)),
                 compiler_options=compiling.QUICK_COMPILE)
  return jax.tree.map(np.asarray, grad(arch, weights))


def test_darts_policies_give_the_same_gradients():
  reference = gradients("none", channels=2, layers=3)
  for policy in ("ops", "cell"):
    for a, b in zip(jax.tree.leaves(gradients(policy, channels=2, layers=3)),
                    jax.tree.leaves(reference)):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_policies_resolve_by_backend_and_unknown_ones_are_refused():
  assert mixed.resolve_recompute("auto") == ("ops" if jax.default_backend() == "cpu" else "none")
  with pytest.raises(ValueError, match="recompute"):
    mixed.resolve_recompute("sometimes")
  with pytest.raises(ValueError, match="'ops' or 'none'"):
    supernet.build(spaces.get("nb201"), rngs=nnx.Rngs(0), recompute="cell")
