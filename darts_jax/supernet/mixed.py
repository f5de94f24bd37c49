"""The mixed op, vectorized over edges: ``out[e] = sum_k w[e, k] * op_k(x[e])``.

A cell's edges run in groups of equal input shape and stride (``staging``), each one ``MixedOp``:
every candidate op is built once with weights stacked over the group's edges and applied with
``jax.vmap``. The traced program then holds one copy of each op per group, not per edge, which is
what keeps XLA compile time of a supernet in seconds rather than minutes.

Sampled mode (GDAS): weights wrapped in ``Sampled`` are one-hot in value, and each edge computes
only its sampled op, ``jax.lax.switch`` on the edge's index, edge by edge (``vmap`` of a switch
becomes a select that computes every branch).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

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

# What the backward pass recomputes: "ops" keeps only what each op marks ``ops.SAVED`` (conv outputs,
# max-pool winners) and recomputes BatchNorm, ReLU and padding (a 3-cell search step's saved
# activations 5.6 -> 1.6 GiB on CPU); "none" keeps everything (fastest where memory allows); "cell"
# keeps only each cell's inputs (``nnx.remat`` per cell, in the network). "auto" is "ops" on CPU,
# where RAM bounds the batch, and "none" on accelerators.
RECOMPUTE = ("auto", "none", "ops", "cell")


def resolve_recompute(recompute: str) -> str:
  if recompute not in RECOMPUTE:
    raise ValueError(f"unknown recompute policy {recompute!r}; choose one of {RECOMPUTE}")
  if recompute == "auto":
    return "ops" if jax.default_backend() == "cpu" else "none"
  return recompute


@functools.partial(jax.jit, static_argnums=(0, 3))
def _apply_pure(graphdef: nnx.GraphDef, state: nnx.State, x: jax.Array, save_marked: bool = True):
  """``(y, new_state)`` of a stacked op, vectorized over edges. Jitted on the graph structure, so
  groups of the same op at the same shapes (every cell of a stage, the alpha and the weight step)
  share one trace instead of retracing the op. With ``save_marked`` the backward pass keeps only
  the values each op marks ``ops.SAVED`` and recomputes the rest."""
  def one_edge(edge_state, edge_x):
    op = nnx.merge(graphdef, edge_state, copy=True)
    return op(edge_x), nnx.state(op)
  if save_marked:
    one_edge = jax.checkpoint(one_edge, policy=_SAVE_MARKED)
  return jax.vmap(one_edge)(state, x)


def apply_stacked(op: nnx.Module, x: jax.Array, *, save_marked: bool = True) -> jax.Array:
  """Applies a stacked op to ``x[e]`` edge by edge (vectorized), updating its BatchNorm statistics."""
  graphdef, state = nnx.split(op)
  y, new_state = _apply_pure(graphdef, state, x, save_marked)
  nnx.update(op, new_state)
  return y


@jax.tree_util.register_pytree_node_class
class Sampled:
  """Mixing weights ``[edges, ops]`` that are one-hot in value (an op sampled per edge, GDAS), as a
  static flag the network carries along like an array: a ``MixedOp`` computes only the sampled op
  ``k*`` of each edge, ``out[e] = w[e, k*] * op_k*(x[e]) + sum_{k != k*} w[e, k]``. The second
  term is zero in value; it passes each unsampled op's weight a gradient, as the GDAS authors'
  ``forward_gdas`` does (xautodl ``search_cells.py``)."""

  def __init__(self, weights: jax.Array):
    self.weights = weights

  @property
  def shape(self) -> tuple[int, ...]:
    return self.weights.shape

  def __getitem__(self, index) -> "Sampled":
    return Sampled(self.weights[index])

  def tree_flatten(self):
    return (self.weights,), None

  @classmethod
  def tree_unflatten(cls, aux, children):
    del aux
    return cls(*children)


@functools.partial(jax.jit, static_argnums=0)
def _apply_sampled(graphdefs: tuple[nnx.GraphDef, ...], params: tuple[Any, ...],
                   stats: tuple[Any, ...], x: jax.Array, index: jax.Array):
  """``(y, new_stats)``: edge ``e`` applies only op ``index[e]`` (a ``lax.switch`` per edge, so the
  other ops never run); ``params``/``stats`` hold each op's variables stacked over edges, and only
  the applied op's BatchNorm statistics change."""
  def branch(k):
    @functools.partial(jax.checkpoint, policy=_SAVE_MARKED)
    def apply(edge_x, edge_params, edge_stats):
      op = nnx.merge(graphdefs[k], edge_params[k], edge_stats[k], copy=True)
      y = op(edge_x)
      return y, edge_stats[:k] + (nnx.state(op, nnx.BatchStat),) + edge_stats[k + 1:]
    return apply

  branches = [branch(k) for k in range(len(graphdefs))]
  at = lambda tree, e: jax.tree.map(lambda leaf: leaf[e], tree)
  ys, new_stats = [], []
  for e in range(x.shape[0]):
    y, edge_stats = jax.lax.switch(index[e], branches, x[e], at(params, e), at(stats, e))
    ys.append(y)
    new_stats.append(edge_stats)
  return jnp.stack(ys), jax.tree.map(lambda *leaves: jnp.stack(leaves), *new_stats)


class MixedOp(nnx.Module):
  """``num_edges`` edges, each a weighted sum over the same candidate ops (search BN: non-affine).

  The ops named in ``batchnorm_after`` get a non-affine BatchNorm on their output (the DARTS
  search cell's pools). ``save_marked``: the "ops" recompute policy (``RECOMPUTE``)."""

  def __init__(self, op_names: Sequence[str], channels: int, stride: int, num_edges: int, *,
               batchnorm_after: Sequence[str] = (), save_marked: bool = True, rngs: nnx.Rngs):
    self.op_names = tuple(op_names)
    self.num_edges = num_edges
    self.save_marked = save_marked
    self.ops = nnx.List([stacked_op(name, channels, stride, num_edges, affine=False,
                                    batchnorm=name in batchnorm_after, rngs=rngs)
                         for name in self.op_names])

  def __call__(self, x: jax.Array, weights: jax.Array | Sampled) -> jax.Array:
    """``x``: ``[edges, N, H, W, C]``; ``weights``: ``[edges, ops]``, or ``Sampled`` one-hot
    weights to compute only each edge's sampled op; returns ``[edges, N, H', W', C]``."""
    if x.shape[0] != self.num_edges or weights.shape != (self.num_edges, len(self.op_names)):
      raise ValueError(f"MixedOp over {self.num_edges} edges x {len(self.op_names)} ops got inputs "
                       f"{x.shape} and weights {weights.shape}")
    if isinstance(weights, Sampled):
      return self._sampled(x, weights.weights)
    out = 0.0
    for k, op in enumerate(self.ops):
      out = out + weights[:, k, None, None, None, None].astype(x.dtype) * apply_stacked(
          op, x, save_marked=self.save_marked)
    return out

  def _sampled(self, x: jax.Array, weights: jax.Array) -> jax.Array:
    """``Sampled`` mode: each edge's op at the argmax of its one-hot weights, alone."""
    index = jnp.argmax(weights, axis=-1)
    graphdefs, stats, params = zip(*(nnx.split(op, nnx.BatchStat, ...) for op in self.ops))
    y, new_stats = _apply_sampled(tuple(graphdefs), params, stats, x, index)
    for op, op_stats in zip(self.ops, new_stats):
      nnx.update(op, op_stats)
    weights = weights.astype(x.dtype)
    chosen = index[:, None] == jnp.arange(weights.shape[-1])
    picked = jnp.sum(jnp.where(chosen, weights, 0.0), axis=-1)
    others = jnp.sum(jnp.where(chosen, 0.0, weights), axis=-1)  # zero in value
    return picked[:, None, None, None, None] * y + others[:, None, None, None, None]
