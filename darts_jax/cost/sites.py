"""Where ops sit in a network: the input shape and stride of every edge of every cell.

A lookup table measures each (op, input shape, stride) once; a genotype's predicted cost sums its
edges' sites; the differentiable objective needs the cost of every op on every supernet edge.
"""

from __future__ import annotations

import dataclasses

from darts_jax import genotypes
from darts_jax.cost import networks, trace
from darts_jax.spaces import DartsCNN, NB201, SearchSpace
from darts_jax.supernet import darts_network, nb201_network


@dataclasses.dataclass(frozen=True)
class Site:
  """One op applied to an ``height x width x channels`` input with ``stride``."""

  op: str
  height: int
  width: int
  channels: int
  stride: int

  @property
  def key(self) -> str:
    return f"{self.op}@{self.height}x{self.width}x{self.channels}/s{self.stride}"


@dataclasses.dataclass(frozen=True)
class CellShape:
  """One cell of the stack: its label, the resolution of its inputs and nodes, its op channels."""

  label: str
  input_hw: tuple[int, int]
  node_hw: tuple[int, int]
  channels: int


def cell_shapes(space: SearchSpace, size: networks.NetworkSize) -> list[CellShape]:
  """The cells of the network at ``size``, read off a traced forward of a reference genotype."""
  model = networks.abstract(networks.reference_genotype(space), space, size)
  cell_type = darts_network.FixedCell if isinstance(space, DartsCNN) else nb201_network.FixedCell
  shapes = []
  for call in trace.traced_calls(model, size.input_shape(1), cell_type):
    out = call.output.shape
    if isinstance(space, DartsCNN):
      shapes.append(CellShape(call.module.label, tuple(call.inputs[1].shape[1:3]), tuple(out[1:3]),
                              out[-1] // len(call.module.concat)))
    else:
      shapes.append(CellShape(call.module.label, tuple(out[1:3]), tuple(out[1:3]), out[-1]))
  return shapes


def edges(space: SearchSpace) -> list[tuple[int, int, int]]:
  """``(alpha row, node, source)`` of every supernet edge of one cell."""
  if isinstance(space, DartsCNN):
    pairs = [(j, i) for j in range(space.steps) for i in range(j + 2)]
  elif isinstance(space, NB201):
    pairs = [(j, i) for j in range(1, space.num_nodes) for i in range(j)]
  else:
    raise ValueError(f"no op sites are defined for search space {space.name!r}")
  return [(space.edge_index(j, i), j, i) for j, i in pairs]


def site(space: SearchSpace, cell: CellShape, op: str, source: int) -> Site:
  """The site of ``op`` on an edge from ``source``: DARTS reduce cells stride the edges from the two
  cell inputs; every other edge works at the cell's node resolution."""
  strided = isinstance(space, DartsCNN) and cell.label == "reduce" and source < 2
  height, width = cell.input_hw if strided else cell.node_hw
  return Site(op, height, width, cell.channels, 2 if strided else 1)


def genotype_edges(genotype: genotypes.Genotype) -> dict[str, list[tuple[str, int, int]]]:
  """``{label: [(op, node, source), ...]}`` of a genotype, nodes numbered as the space's edges."""
  if isinstance(genotype, genotypes.DartsGenotype):
    return {label: [(op, k // 2, source) for k, (op, source) in enumerate(getattr(genotype, label))]
            for label in ("normal", "reduce")}
  return {"cell": [(op, j, i) for j, node in enumerate(genotype.nodes, start=1) for op, i in node]}


def genotype_sites(space: SearchSpace, genotype: genotypes.Genotype,
                   cells: list[CellShape]) -> list[Site]:
  """Every op application of ``genotype`` in a network of ``cells`` (repeats included)."""
  by_label = genotype_edges(space.validate(genotype))
  return [site(space, cell, op, source) for cell in cells for op, _, source in by_label[cell.label]]


def space_sites(space: SearchSpace, cells: list[CellShape]) -> list[Site]:
  """Every distinct site any genotype of ``space`` can produce in a network of ``cells``."""
  found = {site(space, cell, op, source) for cell in cells for _, _, source in edges(space)
           for op in space.op_names}
  return sorted(found, key=lambda s: s.key)
