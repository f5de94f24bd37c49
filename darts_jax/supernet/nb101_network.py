"""NAS-Bench-101 networks: conv stem, stacks of cells joined by 2x2 max pools, global pool, classifier.

Cells follow google-research/nasbench ``model_builder.py``: the cell input is projected (1x1
conv-BN-ReLU) to every vertex it feeds, earlier vertices are truncated to a vertex's channels and
summed, the vertices feeding the output are concatenated, and an input -> output edge adds a projection.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from darts_jax import ops
from darts_jax.spaces.nb101 import NB101, NB101Cell, prune


def vertex_channels(in_channels: int, out_channels: int, matrix: np.ndarray) -> list[int]:
  """Channels per vertex: the output's channels split over the vertices concatenated into it (the
  remainder to the earliest), and a vertex feeding only other vertices as wide as the widest of them."""
  n = len(matrix)
  channels = [in_channels] + [0] * (n - 2) + [out_channels]
  feeding = [v for v in range(1, n - 1) if matrix[v, n - 1]]
  for k, v in enumerate(feeding):
    channels[v] = out_channels // len(feeding) + (k < out_channels % len(feeding))
  for v in range(n - 2, 0, -1):
    if not matrix[v, n - 1]:
      channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v, w])
  return channels


class Cell(nnx.Module):
  """One NAS-Bench-101 cell (pruned first); vertex ops come from the op registry."""

  def __init__(self, cell: NB101Cell, in_channels: int, out_channels: int, *, rngs: nnx.Rngs):
    cell = prune(cell)
    matrix = cell.array
    self.matrix = tuple(tuple(bool(v) for v in row) for row in matrix)
    self.channels = tuple(vertex_channels(in_channels, out_channels, matrix))
    self.ops = nnx.List([ops.get(op)(self.channels[v], 1, affine=True, rngs=rngs)
                         for v, op in enumerate(cell.ops[1:-1], start=1)])
    self.projections = nnx.Dict({
        str(v): ops.ConvBNReLU(in_channels, self.channels[v], 1, affine=True, rngs=rngs)
        for v in range(1, len(matrix)) if matrix[0, v]})

  def __call__(self, x: jax.Array) -> jax.Array:
    last = len(self.channels) - 1
    values = [x]
    for v, op in enumerate(self.ops, start=1):
      inputs = [values[u][..., :self.channels[v]] for u in range(1, v) if self.matrix[u][v]]
      if self.matrix[0][v]:
        inputs.append(self.projections[str(v)](x))
      values.append(op(sum(inputs)))
    feeding = [values[v] for v in range(1, last) if self.matrix[v][last]]
    outputs = [jnp.concatenate(feeding, axis=-1)] if feeding else []
    if self.matrix[0][last]:
      outputs.append(self.projections[str(last)](x))
    return sum(outputs)


def _max_pool_2x2(x: jax.Array) -> jax.Array:
  """2x2 stride-2 max pool with 'same' padding (odd sides round up), NAS-Bench-101's downsampling."""
  pad = ((0, 0), (0, x.shape[1] % 2), (0, x.shape[2] % 2), (0, 0))
  return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), pad)


class NB101Network(nnx.Module):
  """Stem conv3x3-BN-ReLU -> ``stacks`` x [``cells_per_stack`` cells], a 2x2 max pool and doubled
  channels between stacks -> global average pool -> classifier (NAS-Bench-101: 128, 3, 3)."""

  def __init__(self, cell: NB101Cell, *, channels: int = 128, stacks: int = 3,
               cells_per_stack: int = 3, num_classes: int = 10, in_channels: int = 3,
               rngs: nnx.Rngs):
    self.in_channels = in_channels
    self.stem = ops.ConvBNReLU(in_channels, channels, 3, affine=True, rngs=rngs)
    layers, c_in = [], channels
    for stack in range(stacks):
      c_out = channels * 2 ** stack
      cells = []
      for _ in range(cells_per_stack):
        cells.append(Cell(cell, c_in, c_out, rngs=rngs))
        c_in = c_out
      layers.append(nnx.List(cells))
    self.stacks = nnx.List(layers)
    self.classifier = nnx.Linear(c_in, num_classes, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    if x.ndim != 4 or x.shape[-1] != self.in_channels:
      raise ValueError(f"expected NHWC images with {self.in_channels} channels, got shape {x.shape}")
    x = self.stem(x)
    for k, stack in enumerate(self.stacks):
      if k:
        x = _max_pool_2x2(x)
      for cell in stack:
        x = cell(x)
    return self.classifier(x.mean(axis=(1, 2)))


def fixed_network(cell: NB101Cell, space: NB101 | None = None, *, rngs: nnx.Rngs,
                  **network_kwargs) -> NB101Network:
  """The network of a valid cell; keyword arguments size it (channels, stacks, cells_per_stack)."""
  (space or NB101()).validate(cell)
  return NB101Network(cell, rngs=rngs, **network_kwargs)
