"""Variable types of a supernet and the filters that select them.

Architecture parameters are their own ``nnx.Variable`` type, deliberately not an ``nnx.Param``: weight
optimizers, weight decay and parameter counts filter on ``nnx.Param`` and can never catch alphas.
"""

import jax
from flax import nnx


class ArchParam(nnx.Variable):
  """A continuous architecture parameter (DARTS alpha, or any other relaxed choice)."""


ARCH = ArchParam
WEIGHTS = nnx.Param
STATS = nnx.BatchStat


def split(model: nnx.Module):
  """``graphdef, arch, weights, stats`` -- the view that jitted hot loops work on."""
  return nnx.split(model, ARCH, WEIGHTS, STATS)


def count_weights(model_or_state) -> int:
  """Number of trainable weights (``nnx.Param`` only: no alphas, no BatchNorm statistics)."""
  state = model_or_state
  if isinstance(model_or_state, nnx.Module):
    state = nnx.state(model_or_state, WEIGHTS)
  return sum(int(leaf.size) for leaf in jax.tree_util.tree_leaves(state))
