"""The mixed op, vectorized over edges: ``out[e] = sum_k w[e, k] * op_k(x[e])``.

A cell's edges run in groups of equal input shape and stride (``staging``), each one ``MixedOp``:
every candidate op is built once with weights stacked over the group's edges and applied with
``jax.vmap``. The traced program then holds one copy of each op per group, not per edge, which is
what keeps XLA compile time of a supernet in seconds rather than minutes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from darts_jax import ops


def stacked_op(name: str, channels: int, stride: int, num_edges: int, *, affine: bool,
               batchnorm: bool = False, rngs: nnx.Rngs) -> nnx.Module:
  """``num_edges`` independent instances of op ``name``, their variables stacked on axis 0;
  ``batchnorm`` follows each with a BatchNorm (``ops.WithBatchNorm``).

  Instances are built one by one and stacked on the host: building under ``nnx.vmap`` compiles
  every initializer once per group size, which dominated supernet construction time.
  """
  factory = ops.get(name)
  instances = [factory(channels, stride, affine=affine, rngs=rngs) for _ in range(num_edges)]
  if batchnorm:
    instances = [ops.WithBatchNorm(op, channels, affine=affine, rngs=rngs) for op in instances]
  graphdef, *states = zip(*(nnx.split(instance) for instance in instances))
  stacked = jax.tree.map(lambda *leaves: jnp.asarray(np.stack(leaves)), *states[0])
  return nnx.merge(graphdef[0], stacked)


_SAVE_MARKED = jax.checkpoint_policies.save_only_these_names(ops.SAVED)


@functools.partial(jax.jit, static_argnums=0)
def _apply_pure(graphdef: nnx.GraphDef, state: nnx.State, x: jax.Array):
  """``(y, new_state)`` of a stacked op, vectorized over edges. Jitted on the graph structure, so
  groups of the same op at the same shapes (every cell of a stage, the alpha and the weight step)
  share one trace instead of retracing the op. The backward pass keeps only the values each op
  marks ``ops.SAVED`` and recomputes the rest."""
  @functools.partial(jax.checkpoint, policy=_SAVE_MARKED)
  def one_edge(edge_state, edge_x):
    op = nnx.merge(graphdef, edge_state, copy=True)
    return op(edge_x), nnx.state(op)
  return jax.vmap(one_edge)(state, x)


def apply_stacked(op: nnx.Module, x: jax.Array) -> jax.Array:
  """Applies a stacked op to ``x[e]`` edge by edge (vectorized), updating its BatchNorm statistics."""
  graphdef, state = nnx.split(op)
  y, new_state = _apply_pure(graphdef, state, x)
  nnx.update(op, new_state)
  return y


class MixedOp(nnx.Module):
  """``num_edges`` edges, each a weighted sum over the same candidate ops (search BN: non-affine).

  The ops named in ``batchnorm_after`` get a non-affine BatchNorm on their output (the DARTS
  search cell's pools)."""

  def __init__(self, op_names: Sequence[str], channels: int, stride: int, num_edges: int, *,
               batchnorm_after: Sequence[str] = (), rngs: nnx.Rngs):
    self.op_names = tuple(op_names)
    self.num_edges = num_edges
    self.ops = nnx.List([stacked_op(name, channels, stride, num_edges, affine=False,
                                    batchnorm=name in batchnorm_after, rngs=rngs)
                         for name in self.op_names])

  def __call__(self, x: jax.Array, weights: jax.Array) -> jax.Array:
    """``x``: ``[edges, N, H, W, C]``; ``weights``: ``[edges, ops]``; returns ``[edges, N, H', W', C]``."""
    if x.shape[0] != self.num_edges or weights.shape != (self.num_edges, len(self.op_names)):
      raise ValueError(f"MixedOp over {self.num_edges} edges x {len(self.op_names)} ops got inputs "
                       f"{x.shape} and weights {weights.shape}")
    out = 0.0
    for k, op in enumerate(self.ops):
      out = out + weights[:, k, None, None, None, None].astype(x.dtype) * apply_stacked(op, x)
    return out
