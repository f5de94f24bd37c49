"""Relaxations: pure functions mapping alphas (``[..., num_ops]``) to mixing weights.

Each takes ``(alphas, key)``; these deterministic ones ignore the key. The DARTS-family methods
(``darts_jax/methods``: GDAS, SNAS, DrNAS, ...) bring their own, stochastic ones. The network never
knows which relaxation produced its weights.
"""

from collections.abc import Callable

import jax

Relaxation = Callable[[jax.Array, jax.Array | None], jax.Array]


def softmax(alphas: jax.Array, key: jax.Array | None = None) -> jax.Array:
  """DARTS: softmax over the candidate ops of each edge."""
  del key
  return jax.nn.softmax(alphas, axis=-1)


def sigmoid(alphas: jax.Array, key: jax.Array | None = None) -> jax.Array:
  """FairDARTS: independent sigmoid per op, so ops do not compete for one unit of weight."""
  del key
  return jax.nn.sigmoid(alphas)


_RELAXATIONS: dict[str, Relaxation] = {"softmax": softmax, "sigmoid": sigmoid}


def get(name: str) -> Relaxation:
  """The relaxation registered as ``name``."""
  try:
    return _RELAXATIONS[name]
  except KeyError:
    raise ValueError(f"unknown relaxation {name!r}; choose one of {sorted(_RELAXATIONS)}") from None


def names() -> list[str]:
  return sorted(_RELAXATIONS)


def apply(relaxation: Relaxation, alphas: dict[str, jax.Array],
          key: jax.Array | None = None) -> dict[str, jax.Array]:
  """Relaxes every alpha group; a key is split so that groups draw independent noise."""
  keys = jax.random.split(key, len(alphas)) if key is not None else [None] * len(alphas)
  return {label: relaxation(a, k) for (label, a), k in zip(sorted(alphas.items()), keys)}

