"""DARTS CNN networks: one macro skeleton, filled with search cells (supernet) or fixed cells."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from darts_jax import genotypes, ops
from darts_jax.spaces.darts_cnn import DartsCNN
from darts_jax.supernet import arch
from darts_jax.supernet.mixed import MixedOp


@dataclasses.dataclass(frozen=True)
class CellPlan:
  """Channel counts and kind of one cell in the stack."""

  prev_prev_channels: int
  prev_channels: int
  channels: int
  reduction: bool
  reduction_prev: bool

  @property
  def label(self) -> str:
    return "reduce" if self.reduction else "normal"


def cell_plans(channels: int, layers: int, *, stem_multiplier: int = 3,
               multiplier: int = 4) -> list[CellPlan]:
  """Reduction cells at 1/3 and 2/3 depth double the channels; each cell outputs ``multiplier * C``."""
  c_prev_prev = c_prev = stem_multiplier * channels
  c, reduction_prev, plans = channels, False, []
  for i in range(layers):
    reduction = i in (layers // 3, 2 * layers // 3)
    c = 2 * c if reduction else c
    plans.append(CellPlan(c_prev_prev, c_prev, c, reduction, reduction_prev))
    c_prev_prev, c_prev, reduction_prev = c_prev, multiplier * c, reduction
  return plans


class Preprocess(nnx.Module):
  """Maps both cell inputs to C channels at the input-1 resolution (FactorizedReduce after a reduction)."""

  def __init__(self, plan: CellPlan, *, affine: bool, rngs: nnx.Rngs):
    c = plan.channels
    if plan.reduction_prev:
      self.input0 = ops.FactorizedReduce(plan.prev_prev_channels, c, affine=affine, rngs=rngs)
    else:
      self.input0 = ops.ReLUConvBN(plan.prev_prev_channels, c, 1, 1, 0, affine=affine, rngs=rngs)
    self.input1 = ops.ReLUConvBN(plan.prev_channels, c, 1, 1, 0, affine=affine, rngs=rngs)

  def __call__(self, s0: jax.Array, s1: jax.Array) -> tuple[jax.Array, jax.Array]:
    return self.input0(s0), self.input1(s1)


class SearchCell(nnx.Module):
  """A DARTS search cell. Edges from the two cell inputs (to every node) form one mixed-op group;
  edges from intermediate nodes form one group per node."""

  def __init__(self, space: DartsCNN, plan: CellPlan, *, rngs: nnx.Rngs):
    self.label = plan.label
    self.steps, self.multiplier = space.steps, space.multiplier
    self.preprocess = Preprocess(plan, affine=False, rngs=rngs)
    stride = 2 if plan.reduction else 1
    self.input_edges = MixedOp(space.op_names, plan.channels, stride, 2 * space.steps, rngs=rngs)
    self.node_edges = nnx.List([MixedOp(space.op_names, plan.channels, 1, j, rngs=rngs)
                                for j in range(1, space.steps)])
    self.input_rows = tuple(space.edge_index(j, i) for j in range(space.steps) for i in (0, 1))
    self.node_rows = tuple(tuple(space.edge_index(j, 2 + i) for i in range(j))
                           for j in range(1, space.steps))

  def __call__(self, s0: jax.Array, s1: jax.Array, weights: jax.Array) -> jax.Array:
    """``weights``: this cell type's relaxed alphas, ``[edges, ops]``."""
    s0, s1 = self.preprocess(s0, s1)
    from_inputs = self.input_edges(jnp.stack([s0, s1] * self.steps), weights[np.array(self.input_rows)])
    nodes = []
    for j in range(self.steps):
      node = from_inputs[2 * j] + from_inputs[2 * j + 1]
      if j > 0:
        group = self.node_edges[j - 1]
        node = node + group(jnp.stack(nodes), weights[np.array(self.node_rows[j - 1])]).sum(axis=0)
      nodes.append(node)
    return jnp.concatenate(nodes[-self.multiplier:], axis=-1)


class FixedCell(nnx.Module):
  """A discrete DARTS cell: node k sums ``op(state[input])`` over its two genotype edges."""

  def __init__(self, edges: tuple[genotypes.Edge, ...], concat: tuple[int, ...], plan: CellPlan, *,
               rngs: nnx.Rngs):
    self.label = plan.label
    self.preprocess = Preprocess(plan, affine=True, rngs=rngs)
    self.inputs = tuple(source for _, source in edges)
    self.concat = tuple(concat)
    self.ops = nnx.List([
        ops.get(name)(plan.channels, 2 if plan.reduction and source < 2 else 1, affine=True,
                      rngs=rngs) for name, source in edges])

  def __call__(self, s0: jax.Array, s1: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    del weights
    states = list(self.preprocess(s0, s1))
    for k in range(0, len(self.ops), 2):
      states.append(self.ops[k](states[self.inputs[k]]) +
                    self.ops[k + 1](states[self.inputs[k + 1]]))
    return jnp.concatenate([states[i] for i in self.concat], axis=-1)


def _run_cell(cell, s0, s1, weights):
  return cell(s0, s1, weights)


class DartsNetwork(nnx.Module):
  """Stem conv 3x3 -> cells -> global average pool -> linear classifier."""

  def __init__(self, cells: list[nnx.Module], plans: list[CellPlan], *, in_channels: int,
               num_classes: int, multiplier: int, remat: bool = False,
               rngs: nnx.Rngs):
    stem_channels = plans[0].prev_channels
    self.in_channels = in_channels
    self.remat = remat
    self.stem_conv = ops.conv(in_channels, stem_channels, 3, padding=1, rngs=rngs)
    self.stem_bn = ops.batch_norm(stem_channels, affine=True, rngs=rngs)
    self.cells = nnx.List(cells)
    self.classifier = nnx.Linear(multiplier * plans[-1].channels, num_classes, rngs=rngs)

  def __call__(self, x: jax.Array, mixing: dict[str, jax.Array] | None = None) -> jax.Array:
    if x.ndim != 4 or x.shape[-1] != self.in_channels:
      raise ValueError(f"expected NHWC images with {self.in_channels} channels, got shape {x.shape}")
    s0 = s1 = self.stem_bn(self.stem_conv(x))
    run_cell = nnx.remat(_run_cell) if self.remat else _run_cell
    for cell in self.cells:
      s0, s1 = s1, run_cell(cell, s0, s1, None if mixing is None else mixing[cell.label])
    return self.classifier(s1.mean(axis=(1, 2)))


class DartsSupernet(arch.DefaultMixing, DartsNetwork):
  """The DARTS search network; its alphas (one ``[edges, ops]`` group per cell type) are ArchParams."""

  def __init__(self, space: DartsCNN, *, channels: int = 16, layers: int = 8,
               num_classes: int = 10, in_channels: int = 3, stem_multiplier: int = 3,
               remat: bool = False, rngs: nnx.Rngs):
    plans = cell_plans(channels, layers, stem_multiplier=stem_multiplier,
                       multiplier=space.multiplier)
    cells = [SearchCell(space, plan, rngs=rngs) for plan in plans]
    super().__init__(cells, plans, in_channels=in_channels, num_classes=num_classes,
                     multiplier=space.multiplier, remat=remat,
                     rngs=rngs)
    self.alphas = arch.init_alphas(space, rngs)


def fixed_network(genotype: genotypes.DartsGenotype, space: DartsCNN | None = None, *,
                  channels: int = 36, layers: int = 20, num_classes: int = 10, in_channels: int = 3,
                  stem_multiplier: int = 3, rngs: nnx.Rngs) -> DartsNetwork:
  """The discrete network of a DARTS genotype, built from the same op factories (``affine=True``)."""
  space = space or DartsCNN()
  space.validate(genotype)
  plans = cell_plans(channels, layers, stem_multiplier=stem_multiplier,
                     multiplier=len(genotype.normal_concat))
  cells = [FixedCell(genotype.reduce if p.reduction else genotype.normal,
                     genotype.reduce_concat if p.reduction else genotype.normal_concat, p, rngs=rngs)
           for p in plans]
  return DartsNetwork(cells, plans, in_channels=in_channels, num_classes=num_classes,
                      multiplier=len(genotype.normal_concat),
                      rngs=rngs)
