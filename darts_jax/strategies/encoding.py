"""Discrete encodings that strategies search over: a tuple of categorical choices per architecture."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from darts_jax import genotypes, spaces

Arch = tuple[int, ...]


class Encoding(Protocol):
  """What a strategy needs from a space: uniform samples, one-step mutations, the genotype."""

  def sample(self, rng: np.random.Generator):
    """A uniformly random valid architecture."""

  def mutate(self, arch, rng: np.random.Generator):
    """A valid architecture one step from ``arch`` and different from it."""

  def decode(self, arch) -> genotypes.Genotype:
    """The architecture as the space's genotype."""


@dataclasses.dataclass(frozen=True)
class CategoricalEncoding:
  """An architecture is one op index per edge; every combination is valid (NAS-Bench-201)."""

  space: spaces.NB201 = dataclasses.field(default_factory=lambda: spaces.get("nb201"))

  @property
  def cardinalities(self) -> tuple[int, ...]:
    """Number of options of each decision (the shape REINFORCE and BO sample from)."""
    return (len(self.space.op_names),) * self.space.num_edges

  def sample(self, rng: np.random.Generator) -> Arch:
    return tuple(int(rng.integers(n)) for n in self.cardinalities)

  def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
    """Changes one edge to a different op, as regularized evolution does on NAS-Bench-201."""
    edge = int(rng.integers(len(arch)))
    shift = 1 + int(rng.integers(self.cardinalities[edge] - 1))
    new = list(arch)
    new[edge] = (arch[edge] + shift) % self.cardinalities[edge]
    return tuple(new)

  def decode(self, arch: Arch) -> genotypes.NB201Genotype:
    names, index = self.space.op_names, self.space.edge_index
    return genotypes.NB201Genotype(tuple(
        tuple((names[arch[index(j, i)]], i) for i in range(j)) for j in range(1, self.space.num_nodes)))

  def encode(self, genotype: genotypes.NB201Genotype) -> Arch:
    genotype = self.space.validate(genotype)
    arch = [0] * self.space.num_edges
    for j, node in enumerate(genotype.nodes, start=1):
      for op, i in node:
        arch[self.space.edge_index(j, i)] = self.space.op_names.index(op)
    return tuple(arch)
