"""Search spaces by name: ``spaces.get('darts_cnn')``, ``spaces.get('nb201', op_names=...)``."""

from darts_jax.spaces.base import SearchSpace
from darts_jax.spaces.darts_cnn import PRIMITIVES, DartsCNN
from darts_jax.spaces.macro import MACRO_OPS, Macro, MacroGenotype
from darts_jax.spaces.nb101 import NB101
from darts_jax.spaces.nb201 import NB201_OPS, NB201

_SPACES = {DartsCNN.name: DartsCNN, NB201.name: NB201, NB101.name: NB101, Macro.name: Macro}


def get(name: str, **kwargs) -> SearchSpace:
  """A search space by name; keyword arguments (e.g. ``op_names``) configure it."""
  if name not in _SPACES:
    raise ValueError(f"unknown search space {name!r}; choose one of {sorted(_SPACES)}")
  return _SPACES[name](**kwargs)


def names() -> list[str]:
  return sorted(_SPACES)


__all__ = ["SearchSpace", "DartsCNN", "Macro", "MacroGenotype", "NB101", "NB201", "PRIMITIVES",
           "MACRO_OPS", "NB201_OPS", "get", "names"]
