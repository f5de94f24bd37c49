"""Supernets and fixed networks for every search space, built from the same op factories."""

from __future__ import annotations

from flax import nnx

from darts_jax import genotypes
from darts_jax.spaces import DartsCNN, Macro, MacroGenotype, NB201, SearchSpace
from darts_jax.spaces.nb101 import NB101Cell
from darts_jax.supernet import darts_network, macro_network, nb101_network, nb201_network
from darts_jax.supernet.mixed import MixedOp


# The search network of each space that has one, by space name.
SUPERNETS = {DartsCNN.name: darts_network.DartsSupernet, NB201.name: nb201_network.NB201Supernet,
             Macro.name: macro_network.MacroSupernet}
# The discrete network of each genotype type's space, by space name.
FIXED = {DartsCNN.name: darts_network.fixed_network, NB201.name: nb201_network.fixed_network,
         Macro.name: macro_network.fixed_network, "nb101": nb101_network.fixed_network}


def build(space: SearchSpace, *, rngs: nnx.Rngs, **network_kwargs) -> nnx.Module:
  """The search network of ``space``; keyword arguments size it (channels, layers, ...)."""
  if space.name not in SUPERNETS:
    raise ValueError(f"no supernet is defined for search space {space.name!r}")
  return SUPERNETS[space.name](space, rngs=rngs, **network_kwargs)


def fixed(genotype: genotypes.Genotype, space: SearchSpace | None = None, *, rngs: nnx.Rngs,
          **network_kwargs) -> nnx.Module:
  """The discrete network of ``genotype`` (its space inferred from the genotype when not given)."""
  if isinstance(genotype, genotypes.DartsGenotype):
    return darts_network.fixed_network(genotype, space, rngs=rngs, **network_kwargs)
  if isinstance(genotype, genotypes.NB201Genotype):
    return nb201_network.fixed_network(genotype, space, rngs=rngs, **network_kwargs)
  if isinstance(genotype, MacroGenotype):
    return macro_network.fixed_network(genotype, space, rngs=rngs, **network_kwargs)
  if isinstance(genotype, NB101Cell):
    return nb101_network.fixed_network(genotype, space, rngs=rngs, **network_kwargs)
  raise TypeError(f"not a genotype: {genotype!r}")


__all__ = ["MixedOp", "build", "fixed", "darts_network", "macro_network", "nb101_network",
           "nb201_network"]
