"""The mixed op, vectorized over edges: ``out[e] = sum_k w[e, k] * op_k(x[e])``.

A cell's edges run in groups of equal input shape and stride (``staging``), each one ``MixedOp``:
every candidate op is built once with weights stacked over the group's edges and applied with
``jax.vmap``. The traced program then holds one copy of each op per group, not per edge, which is
what keeps XLA compile time of a supernet in seconds rather than minutes.

Sampled mode (GDAS): weights wrapped in ``Sampled`` are one-hot in value, and each edge computes
only its sampled op, ``jax.lax.switch`` on the edge's index, edge by edge (``vmap`` of a switch
becomes a select that computes every branch).

Static options of a mixed op, chosen when the network is built (the defaults compute as above):

- ``partial_channels=K``: the ops see the first ``C/K`` input channels; the other channels bypass
  them (max-pooled 2x2 on strided edges), are concatenated after the ops' sum, and the result is
  channel-shuffled with ``K`` groups;
- ``auxiliary_skip``: an extra skip connection on every edge, outside the mixture (on strided
  edges a non-affine ``FactorizedReduce``), scaled by a coefficient the mixing weights bring;
- ``kept``: the ops each edge may use; an op is computed only on the edges that keep it and is not
  built where none does.

Per-step values reach a mixed op with its weights, wrapped in ``EdgeMixing``: each edge's output
scale (edge normalization), the auxiliary skip's coefficient, and a PRNG key and rate for dropout
on the identity ops' outputs.
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
  return stack(instances)


def stack(instances: Sequence[nnx.Module]) -> nnx.Module:
  """Modules of one structure as one module whose variables are stacked on axis 0."""
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


# Alpha groups a network adds beside its op alphas: ``edges_<label>`` holds one logit per edge of
# the cells of ``label`` (PC-DARTS' edge normalization weights).
EDGE_ALPHAS_PREFIX = "edges_"


def edge_alphas_label(label: str) -> str:
  return EDGE_ALPHAS_PREFIX + label


def init_edge_alphas(alphas: nnx.Dict, rngs: nnx.Rngs, scale: float = 1e-3) -> None:
  """Adds an ``edges_<label>`` ArchParam of ``[edges]`` logits, ``scale * N(0, 1)``, beside every
  ``[edges, ops]`` alpha group (PC-DARTS ``model_search.py``: ``betas = 1e-3 * randn(k)``)."""
  from darts_jax.variables import ArchParam  # (variables imports nothing from here)
  for label in [label for label in alphas if not label.startswith(EDGE_ALPHAS_PREFIX)]:
    edges = alphas[label][...].shape[0]
    alphas[edge_alphas_label(label)] = ArchParam(scale * jax.random.normal(rngs.params(), (edges,)))


@jax.tree_util.register_pytree_node_class
class EdgeMixing:
  """Mixing weights ``[edges, ops]`` with per-step extras for each edge; each extra is optional
  (None: absent) and each is a value the network computes with, never an alpha:

  - ``edge_weights`` ``[edges]``: every edge's output is multiplied by its weight (edge
    normalization: a softmax over each node's incoming edges);
  - ``auxiliary``: a scalar, the coefficient of the auxiliary skip of networks built with
    ``auxiliary_skip`` (absent: no auxiliary term);
  - ``dropout_key`` and ``dropout_rate``: dropout on the outputs of the identity ops (stride-1
    ``skip_connect``), a fresh mask per cell, edge group and op.

  Indexing by edge rows (as ``staging`` takes a stage's rows) slices the per-edge parts and folds
  the first row into the dropout key; ``for_cell`` folds a cell's index into it."""

  def __init__(self, weights, edge_weights=None, auxiliary=None, dropout_key=None,
               dropout_rate=None):
    self.weights, self.edge_weights, self.auxiliary = weights, edge_weights, auxiliary
    self.dropout_key, self.dropout_rate = dropout_key, dropout_rate
    if (dropout_key is None) != (dropout_rate is None):
      raise ValueError("EdgeMixing's dropout needs both a key and a rate")

  @property
  def shape(self) -> tuple[int, ...]:
    return self.weights.shape

  def _with_key(self, key) -> "EdgeMixing":
    return EdgeMixing(self.weights, self.edge_weights, self.auxiliary, key, self.dropout_rate)

  def __getitem__(self, index) -> "EdgeMixing":
    key = self.dropout_key
    if key is not None:
      rows = np.asarray(index).ravel()
      key = jax.random.fold_in(key, int(rows[0])) if rows.size else key
    return EdgeMixing(self.weights[index],
                      None if self.edge_weights is None else self.edge_weights[index],
                      self.auxiliary, key, self.dropout_rate)

  def for_cell(self, index: int) -> "EdgeMixing":
    """The same weights with the dropout key of cell ``index`` (cells of a label share weights)."""
    if self.dropout_key is None:
      return self
    return self._with_key(jax.random.fold_in(self.dropout_key, index))

  def tree_flatten(self):
    return (self.weights, self.edge_weights, self.auxiliary, self.dropout_key,
            self.dropout_rate), None

  @classmethod
  def tree_unflatten(cls, aux, children):
    del aux
    return cls(*children)


def for_cell(weights, index: int):
  """``weights`` as cell ``index`` of its label sees them (``EdgeMixing.for_cell``; other weights
  as they are)."""
  return weights.for_cell(index) if isinstance(weights, EdgeMixing) else weights


def channel_shuffle(x: jax.Array, groups: int) -> jax.Array:
  """ShuffleNet's channel shuffle on the last axis: the channels read as ``[groups, C/groups]``
  are transposed to ``[C/groups, groups]`` (output channel ``j * groups + g`` is input channel
  ``g * C/groups + j``), as PC-DARTS' ``channel_shuffle`` does on NCHW."""
  *lead, channels = x.shape
  x = x.reshape(*lead, groups, channels // groups)
  return jnp.swapaxes(x, -1, -2).reshape(*lead, channels)


def max_pool_2x2(x: jax.Array) -> jax.Array:
  """2x2 max pooling with stride 2 over axes -3, -2 of ``[..., H, W, C]``: PyTorch's
  ``MaxPool2d(2, 2)`` on even sizes; odd sizes round up (the ops' stride-2 size) where PyTorch
  would round down."""
  pads = [(0, 0)] * (x.ndim - 3) + [(0, x.shape[-3] % 2), (0, x.shape[-2] % 2), (0, 0)]
  window = (1,) * (x.ndim - 3) + (2, 2, 1)
  return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, window, pads)


def dropout(x: jax.Array, key: jax.Array, rate) -> jax.Array:
  """Element-wise dropout (PyTorch ``nn.Dropout`` in training): zeroes each value with probability
  ``rate`` and scales the rest by ``1 / (1 - rate)``; ``rate`` may be traced (0 keeps ``x``)."""
  keep = 1.0 - jnp.asarray(rate, x.dtype)
  mask = jax.random.bernoulli(key, keep, x.shape)
  return jnp.where(mask, x / keep, 0.0).astype(x.dtype)


def _op_edges(kept: Sequence[Sequence[int]] | None, num_edges: int,
              num_ops: int) -> tuple[tuple[int, ...] | None, ...]:
  """For each op, the edges that keep it (None: every edge); ``kept[e]``: op indices of edge e."""
  if kept is None:
    return (None,) * num_ops
  if len(kept) != num_edges:
    raise ValueError(f"kept ops are given for {len(kept)} edges, the group has {num_edges}")
  for e, edge_ops in enumerate(kept):
    if not edge_ops or not all(0 <= int(k) < num_ops for k in edge_ops):
      raise ValueError(f"edge {e} keeps ops {tuple(edge_ops)}: each edge keeps at least one of the "
                       f"{num_ops} ops, by index")
  edges = [tuple(e for e in range(num_edges) if k in {int(i) for i in kept[e]})
           for k in range(num_ops)]
  return tuple(None if len(on) == num_edges else on for on in edges)


class MixedOp(nnx.Module):
  """``num_edges`` edges, each a weighted sum over the same candidate ops (search BN: non-affine).

  The ops named in ``batchnorm_after`` get a non-affine BatchNorm on their output (the DARTS
  search cell's pools). ``save_marked``: the "ops" recompute policy (``RECOMPUTE``).
  ``partial_channels``, ``auxiliary_skip`` and ``kept``: the static options of the module
  docstring (defaults: all channels, no auxiliary skip, every op on every edge)."""

  def __init__(self, op_names: Sequence[str], channels: int, stride: int, num_edges: int, *,
               batchnorm_after: Sequence[str] = (), save_marked: bool = True,
               partial_channels: int = 1, auxiliary_skip: bool = False,
               kept: Sequence[Sequence[int]] | None = None, rngs: nnx.Rngs):
    self.op_names = tuple(op_names)
    self.num_edges = num_edges
    self.save_marked = save_marked
    self.stride = stride
    if partial_channels < 1 or channels % partial_channels:
      raise ValueError(f"partial_channels={partial_channels} must divide the {channels} channels")
    self.partial_channels = partial_channels
    op_channels = channels // partial_channels
    edges = _op_edges(kept, num_edges, len(self.op_names))
    # Built ops: their index among op_names, and the edges they run on (None: all).
    self.built = tuple(k for k, on in enumerate(edges) if on != ())
    self.op_edges = tuple(edges[k] for k in self.built)
    self.ops = nnx.List([stacked_op(self.op_names[k], op_channels, stride,
                                    num_edges if edges[k] is None else len(edges[k]),
                                    affine=False, batchnorm=self.op_names[k] in batchnorm_after,
                                    rngs=rngs)
                         for k in self.built])
    self.identities = tuple(isinstance(op, ops.Identity) for op in self.ops)
    self.auxiliary_skip = auxiliary_skip
    # The auxiliary skip of strided edges (DARTS- model_search.py: FactorizedReduce(C, C, False)).
    self.auxiliary = stack([ops.FactorizedReduce(channels, channels, affine=False, rngs=rngs)
                            for _ in range(num_edges)]) if auxiliary_skip and stride != 1 else None

  def __call__(self, x: jax.Array, weights: jax.Array | Sampled | EdgeMixing) -> jax.Array:
    """``x``: ``[edges, N, H, W, C]``; ``weights``: ``[edges, ops]``, ``Sampled`` one-hot weights
    to compute only each edge's sampled op, or ``EdgeMixing``; returns ``[edges, N, H', W', C]``."""
    extras = weights if isinstance(weights, EdgeMixing) else EdgeMixing(weights)
    weights = extras.weights
    if x.shape[0] != self.num_edges or weights.shape != (self.num_edges, len(self.op_names)):
      raise ValueError(f"MixedOp over {self.num_edges} edges x {len(self.op_names)} ops got inputs "
                       f"{x.shape} and weights {weights.shape}")
    k = self.partial_channels
    inputs = x if k == 1 else x[..., :x.shape[-1] // k]
    if isinstance(weights, Sampled):
      if len(self.built) != len(self.op_names) or any(e is not None for e in self.op_edges):
        raise ValueError("sampled weights need every op on every edge (no kept-op mask)")
      out = self._sampled(inputs, weights.weights)
    else:
      out = self._mixed(inputs, weights, extras)
    if k > 1:  # PC-DARTS: the bypassed channels join the ops' sum, then a shuffle of k groups
      bypass = x[..., x.shape[-1] // k:]
      out = channel_shuffle(jnp.concatenate(
          [out, max_pool_2x2(bypass) if self.stride != 1 else bypass], axis=-1), k)
    if self.auxiliary_skip and extras.auxiliary is not None:
      skip = x if self.auxiliary is None else apply_stacked(self.auxiliary, x,
                                                            save_marked=self.save_marked)
      out = out + jnp.asarray(extras.auxiliary).astype(x.dtype) * skip
    if extras.edge_weights is not None:
      out = extras.edge_weights[:, None, None, None, None].astype(x.dtype) * out
    return out

  def _mixed(self, x: jax.Array, weights: jax.Array, extras: EdgeMixing) -> jax.Array:
    """Every built op on its edges, weighted; dropout on the identities' outputs if asked."""
    out = 0.0
    for slot, (k, op, edges) in enumerate(zip(self.built, self.ops, self.op_edges)):
      index = None if edges is None else np.asarray(edges)
      y = apply_stacked(op, x if index is None else x[index], save_marked=self.save_marked)
      if self.identities[slot] and extras.dropout_key is not None:
        y = dropout(y, jax.random.fold_in(extras.dropout_key, k), extras.dropout_rate)
      w = weights[:, k] if index is None else weights[index, k]
      term = w[:, None, None, None, None].astype(x.dtype) * y
      if index is not None:
        term = jnp.zeros((self.num_edges,) + term.shape[1:], term.dtype).at[index].set(term)
      out = out + term
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
