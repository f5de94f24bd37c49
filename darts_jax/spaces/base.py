"""The search-space protocol: what the supernet, discretization and strategies need to know."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from darts_jax import genotypes


class SearchSpace(Protocol):
  """A space names its candidate ops, declares its alpha groups and turns alphas into genotypes."""

  name: str
  op_names: tuple[str, ...]

  def alpha_shapes(self) -> dict[str, tuple[int, int]]:
    """``{label: (num_edges, num_ops)}``; choices under one label share their alphas."""

  def discretize(self, alphas: dict[str, np.ndarray]) -> genotypes.Genotype:
    """The space's discretization rule applied to alphas (or relaxed weights)."""

  def validate(self, genotype: genotypes.Genotype) -> genotypes.Genotype:
    """Returns the genotype if it belongs to this space, else raises GenotypeError."""

  def parse(self, text: str) -> genotypes.Genotype:
    """Parses and validates a canonical string, a published name or a ``genotype.json`` path."""


def check_op_set(op_names, genotype, space_name: str) -> None:
  """Raises GenotypeError if the genotype uses ops outside the space's op set."""
  foreign = sorted(genotype.ops() - set(op_names))
  if foreign:
    raise genotypes.GenotypeError(
        f"genotype uses op(s) {foreign} that are not in the {space_name} op set {list(op_names)}")


def check_alpha_shapes(space: SearchSpace, alphas: dict) -> None:
  """Raises ValueError when alphas do not match the space's declared groups and shapes."""
  expected = space.alpha_shapes()
  got = {label: tuple(np.shape(a)) for label, a in alphas.items()}
  if got != expected:
    raise ValueError(f"alphas of shapes {got} do not fit the {space.name} space, which expects "
                     f"{expected}")
