"""A NAS-Bench-101-style cell space: a DAG over at most 7 vertices (input, <= 5 ops, output).

Cells are an upper-triangular adjacency matrix plus one label per vertex, as in google-research/nasbench
``ModelSpec``; vertices off every input -> output path are pruned before checks and hashing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

INPUT, OUTPUT = "input", "output"
NB101_OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
EXTRA_OPS = ("conv5x5-bn-relu", "avgpool3x3")


class CellError(ValueError):
  """A graph that is not a valid cell of the space."""


@dataclasses.dataclass(frozen=True)
class NB101Cell:
  """``matrix[i][j] = 1`` for an edge i -> j; ``ops[0]`` is input, ``ops[-1]`` output."""

  matrix: tuple[tuple[int, ...], ...]
  ops: tuple[str, ...]

  space_name = "nb101"
  PREFIX = "nb101:"

  def __post_init__(self):
    object.__setattr__(self, "matrix", tuple(tuple(int(v) for v in row) for row in self.matrix))
    object.__setattr__(self, "ops", tuple(self.ops))

  def __str__(self) -> str:
    """``nb101:{"matrix":[[...]],"ops":[...]}``, which ``genotypes.parse`` reads back."""
    return self.PREFIX + json.dumps({"matrix": self.matrix, "ops": self.ops}, separators=(",", ":"))

  @classmethod
  def parse(cls, text: str) -> NB101Cell:
    return cls(**json.loads(text[len(cls.PREFIX):]))

  def to_json(self) -> dict:
    return {"space": self.space_name, "string": str(self), "matrix": [list(r) for r in self.matrix],
            "ops": list(self.ops)}

  @property
  def array(self) -> np.ndarray:
    return np.array(self.matrix, dtype=np.int64)


def prune(cell: NB101Cell) -> NB101Cell:
  """Drops vertices not on an input -> output path (they cannot affect the output)."""
  matrix = cell.array
  n = len(matrix)
  reach_from_input, reach_to_output = {0}, {n - 1}
  for j in range(1, n):
    if any(matrix[i, j] for i in reach_from_input):
      reach_from_input.add(j)
  for i in range(n - 2, -1, -1):
    if any(matrix[i, j] for j in reach_to_output):
      reach_to_output.add(i)
  keep = sorted(reach_from_input & reach_to_output)
  if n - 1 not in keep:
    return NB101Cell(((0, 0), (0, 0)), (INPUT, OUTPUT))  # disconnected: validate() rejects it
  return NB101Cell(matrix[np.ix_(keep, keep)], tuple(cell.ops[k] for k in keep))


def graph_hash(cell: NB101Cell, op_names) -> str:
  """Iterative neighbourhood hash (NAS-Bench-101's method): equal for isomorphic pruned cells."""
  cell = prune(cell)
  matrix = cell.array
  labels = [-1] + [op_names.index(op) for op in cell.ops[1:-1]] + [-2]
  hashes = [_md5((int(matrix[:, v].sum()), int(matrix[v].sum()), label))
            for v, label in enumerate(labels)]
  for _ in range(len(labels)):
    hashes = [_md5((sorted(hashes[u] for u in np.flatnonzero(matrix[:, v])),
                    sorted(hashes[w] for w in np.flatnonzero(matrix[v])), hashes[v]))
              for v in range(len(labels))]
  return _md5(sorted(hashes))


def _md5(value) -> str:
  return hashlib.md5(repr(value).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class NB101:
  """The space: op labels, vertex and edge limits; ``sample``/``mutate`` always give valid cells."""

  op_names: tuple[str, ...] = NB101_OPS + EXTRA_OPS
  max_vertices: int = 7
  max_edges: int = 9

  name = "nb101"

  def validate(self, cell: NB101Cell) -> NB101Cell:
    """Returns the cell if valid, else raises CellError saying what is wrong."""
    matrix, n = cell.array, len(cell.ops)
    if matrix.shape != (n, n):
      raise CellError(f"adjacency matrix of shape {matrix.shape} does not match {n} vertex labels")
    if not 2 <= n <= self.max_vertices:
      raise CellError(f"a cell has 2..{self.max_vertices} vertices, got {n}")
    if not np.isin(matrix, (0, 1)).all():
      raise CellError("adjacency entries must be 0 or 1")
    if np.tril(matrix).any():
      raise CellError("edges must go from lower to higher vertex index (strictly upper-triangular "
                      "matrix): this rules out cycles and self-loops")
    if cell.ops[0] != INPUT or cell.ops[-1] != OUTPUT:
      raise CellError(f"the first vertex must be {INPUT!r} and the last {OUTPUT!r}")
    foreign = sorted(set(cell.ops[1:-1]) - set(self.op_names))
    if foreign:
      raise CellError(f"unknown op(s) {foreign}; choose from {list(self.op_names)}")
    pruned = prune(cell).array
    if not pruned.any():
      raise CellError("the output is not reachable from the input")
    if pruned.sum() > self.max_edges:  # counted after pruning, as NAS-Bench-101 does
      raise CellError(f"{int(pruned.sum())} edges on input -> output paths exceed the limit of "
                      f"{self.max_edges}")
    return cell

  def is_valid(self, cell: NB101Cell) -> bool:
    try:
      self.validate(cell)
    except CellError:
      return False
    return True

  def hash(self, cell: NB101Cell) -> str:
    return graph_hash(self.validate(cell), self.op_names)

  def sample(self, rng: np.random.Generator) -> NB101Cell:
    """Uniform over upper-triangular 7-vertex graphs and labels, rejecting invalid ones (as NB101)."""
    n = self.max_vertices
    while True:
      matrix = np.triu(rng.integers(2, size=(n, n)), 1)
      ops = (INPUT,) + tuple(self.op_names[k] for k in rng.integers(len(self.op_names), size=n - 2))
      cell = NB101Cell(matrix, ops + (OUTPUT,))
      if self.is_valid(cell):
        return cell

  def mutate(self, cell: NB101Cell, rng: np.random.Generator, max_tries: int = 1000) -> NB101Cell:
    """Flips one edge or relabels one op vertex, retried until valid and not isomorphic to ``cell``."""
    start, n = self.hash(cell), len(cell.ops)
    for _ in range(max_tries):
      matrix, ops = cell.array, list(cell.ops)
      if n > 2 and rng.random() < 0.5:
        vertex = 1 + int(rng.integers(n - 2))
        ops[vertex] = self.op_names[int(rng.integers(len(self.op_names)))]
      else:
        i, j = sorted(rng.choice(n, size=2, replace=False))
        matrix[i, j] = 1 - matrix[i, j]
      child = NB101Cell(matrix, tuple(ops))
      if self.is_valid(child) and graph_hash(child, self.op_names) != start:
        return child
    raise CellError(f"no valid, different mutation of {cell} found in {max_tries} tries")

  def decode(self, cell: NB101Cell) -> NB101Cell:
    """Cells are their own genotype (the strategies' Encoding protocol)."""
    return self.validate(cell)
