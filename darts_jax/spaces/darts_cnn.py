"""The DARTS CNN space: normal and reduce cells with 2 inputs, ``steps`` nodes and 2 edges per node."""

from __future__ import annotations

import dataclasses

import numpy as np

from darts_jax import genotypes, ops
from darts_jax.spaces import base

PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
              "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")


@dataclasses.dataclass(frozen=True)
class DartsCNN:
  """Cells of ``steps`` nodes; node j mixes over inputs ``0..j+1`` (two cell inputs + earlier nodes).

  Edges are numbered node by node (edge ``offset(j) + i`` carries input i to node j), as in
  quark0/darts, so alpha rows line up with the reference's.
  """

  op_names: tuple[str, ...] = PRIMITIVES
  steps: int = 4
  multiplier: int = 4

  name = "darts_cnn"
  labels = ("normal", "reduce")

  def __post_init__(self):
    object.__setattr__(self, "op_names", tuple(self.op_names))
    ops.check_known(self.op_names)

  @property
  def num_edges(self) -> int:
    return sum(j + 2 for j in range(self.steps))

  def edge_index(self, node: int, source: int) -> int:
    """Alpha row of the edge from ``source`` (0, 1 = cell inputs; 2.. = nodes) into ``node``."""
    return sum(k + 2 for k in range(node)) + source

  def concat(self) -> tuple[int, ...]:
    return tuple(range(2 + self.steps - self.multiplier, 2 + self.steps))

  def alpha_shapes(self) -> dict[str, tuple[int, int]]:
    return {label: (self.num_edges, len(self.op_names)) for label in self.labels}

  def discretize(self, alphas) -> genotypes.DartsGenotype:
    base.check_alpha_shapes(self, alphas)
    normal, reduce = (genotypes.darts_cell_rule(np.asarray(alphas[label]), self.op_names,
                                                self.steps) for label in self.labels)
    return genotypes.DartsGenotype(normal, self.concat(), reduce, self.concat())

  def validate(self, genotype) -> genotypes.DartsGenotype:
    if not isinstance(genotype, genotypes.DartsGenotype):
      raise genotypes.GenotypeError(
          f"genotype {str(genotype)[:60]!r} is for the {genotype.space_name} space, not darts_cnn")
    base.check_op_set(self.op_names, genotype, self.name)
    for cell in ("normal", "reduce"):
      edges = getattr(genotype, cell)
      if len(edges) != 2 * self.steps:
        raise genotypes.GenotypeError(
            f"{cell} cell has {len(edges)} edges; the darts_cnn space with {self.steps} nodes "
            f"needs {2 * self.steps} (two per node)")
      for k, (op, source) in enumerate(edges):
        if not 0 <= source < k // 2 + 2:
          raise genotypes.GenotypeError(f"{cell}[{k}] = ({op!r}, {source}): node {k // 2} can "
                                        f"only take inputs 0..{k // 2 + 1}")
      concat = getattr(genotype, f"{cell}_concat")
      if not concat or not all(0 <= i < self.steps + 2 for i in concat):
        raise genotypes.GenotypeError(f"{cell}_concat {list(concat)} names states outside "
                                      f"0..{self.steps + 1}")
    return genotype

  def parse(self, text: str) -> genotypes.DartsGenotype:
    return self.validate(genotypes.resolve(text))
