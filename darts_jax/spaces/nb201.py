"""The NAS-Bench-201 space: one cell of 4 nodes, every pair i < j joined by a 5-way choice."""

from __future__ import annotations

import dataclasses

import numpy as np

from darts_jax import genotypes, ops
from darts_jax.spaces import base

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@dataclasses.dataclass(frozen=True)
class NB201:
  """Edges are numbered node by node (``1<-0, 2<-0, 2<-1, 3<-0, ...``), as xautodl orders them."""

  op_names: tuple[str, ...] = NB201_OPS
  num_nodes: int = 4

  name = "nb201"
  labels = ("cell",)

  def __post_init__(self):
    object.__setattr__(self, "op_names", tuple(self.op_names))
    ops.check_known(self.op_names)

  @property
  def num_edges(self) -> int:
    return self.num_nodes * (self.num_nodes - 1) // 2

  def edge_index(self, node: int, source: int) -> int:
    """Alpha row of the edge ``source -> node`` (nodes numbered 0..num_nodes-1)."""
    return node * (node - 1) // 2 + source

  def alpha_shapes(self) -> dict[str, tuple[int, int]]:
    return {"cell": (self.num_edges, len(self.op_names))}

  def discretize(self, alphas) -> genotypes.NB201Genotype:
    base.check_alpha_shapes(self, alphas)
    return genotypes.NB201Genotype(
        genotypes.argmax_cell_rule(np.asarray(alphas["cell"]), self.op_names, self.num_nodes))

  def validate(self, genotype) -> genotypes.NB201Genotype:
    if not isinstance(genotype, genotypes.NB201Genotype):
      raise genotypes.GenotypeError(
          f"genotype {str(genotype)[:60]!r} is for the {genotype.space_name} space, not nb201")
    if len(genotype.nodes) != self.num_nodes - 1:
      raise genotypes.GenotypeError(f"an nb201 cell has {self.num_nodes - 1} nodes after the "
                                    f"input, got {len(genotype.nodes)}")
    base.check_op_set(self.op_names, genotype, self.name)
    return genotype

  def parse(self, text: str) -> genotypes.NB201Genotype:
    return self.validate(genotypes.resolve(text))
