"""A genotype's cells as graphs to draw, the way the DARTS and NAS-Bench-201 papers draw them.

DARTS cells: inputs ``c_{k-2}``, ``c_{k-1}``, intermediate nodes ``0..n-1`` (each with its two
op-labelled input edges), and the output ``c_{k}`` joined by unlabelled concat edges. NAS-Bench-201
cells: nodes ``in``, ``1``, ``2``, ``out``, every pair joined by an op-labelled edge (``none``, the
missing edge, drawn dashed)."""

from __future__ import annotations

import dataclasses

from darts_jax import genotypes

INPUT, NODE, OUTPUT = "input", "node", "output"


@dataclasses.dataclass(frozen=True)
class Node:
  name: str  # as written in the papers; ``c_{k-2}`` style subscripts
  kind: str  # INPUT, NODE or OUTPUT


@dataclasses.dataclass(frozen=True)
class Edge:
  source: str
  target: str
  op: str  # "" for a concat edge into the output

  @property
  def dashed(self) -> bool:
    return self.op == "none"


@dataclasses.dataclass(frozen=True)
class CellGraph:
  title: str
  nodes: tuple[Node, ...]
  edges: tuple[Edge, ...]

  def ops(self) -> list[str]:
    return [edge.op for edge in self.edges if edge.op]


def _darts_cell(title: str, edges, concat) -> CellGraph:
  steps = len(edges) // 2
  names = ["c_{k-2}", "c_{k-1}", *(str(j) for j in range(steps))]
  nodes = [Node(names[0], INPUT), Node(names[1], INPUT),
           *(Node(str(j), NODE) for j in range(steps)), Node("c_{k}", OUTPUT)]
  op_edges = [Edge(names[source], str(k // 2), op) for k, (op, source) in enumerate(edges)]
  concat_edges = [Edge(names[i], "c_{k}", "") for i in concat]
  return CellGraph(title, tuple(nodes), tuple(op_edges + concat_edges))


def _nb201_cell(genotype: genotypes.NB201Genotype) -> CellGraph:
  last = len(genotype.nodes)
  name = lambda i: "in" if i == 0 else "out" if i == last else str(i)
  nodes = [Node(name(i), INPUT if i == 0 else OUTPUT if i == last else NODE)
           for i in range(last + 1)]
  edges = [Edge(name(i), name(j), op) for j, node in enumerate(genotype.nodes, start=1)
           for op, i in node]
  return CellGraph("cell", tuple(nodes), tuple(edges))


def cell_graphs(genotype) -> dict[str, CellGraph]:
  """``{"normal": ..., "reduce": ...}`` for a DARTS genotype, ``{"cell": ...}`` for NAS-Bench-201,
  ``{}`` for genotypes that are not drawn as cells (NAS-Bench-101, macro)."""
  if isinstance(genotype, genotypes.DartsGenotype):
    return {"normal": _darts_cell("normal cell", genotype.normal, genotype.normal_concat),
            "reduce": _darts_cell("reduction cell", genotype.reduce, genotype.reduce_concat)}
  if isinstance(genotype, genotypes.NB201Genotype):
    return {"cell": _nb201_cell(genotype)}
  return {}
