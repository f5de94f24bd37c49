"""Parameter counts: trainable weights only (no alphas, no BatchNorm statistics)."""

from __future__ import annotations

from flax import nnx

from darts_jax import variables


def count(model: nnx.Module, *, auxiliary: bool = False) -> int:
  """Weights of ``model``; an ``auxiliary_head`` (training-only classifier) counts only when asked,
  as the papers report the evaluation network's size."""
  total = variables.count_weights(model)
  head = getattr(model, "auxiliary_head", None)
  if head is not None and not auxiliary:
    total -= variables.count_weights(head)
  return total
