"""Collapse diagnostics of a search, per epoch: the sharpness of the validation loss in the alphas,
the skip connections of the current genotype, and how undecided the mixing weights still are.

DARTS drifts toward parameter-free cells, skip connections most of all; RobustDARTS (Zela et al.,
2020) showed that the dominant eigenvalue of the validation loss's Hessian with respect to the alphas
grows as it does, and stops the search early (DARTS-ES) when it grows too fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from darts_jax import genotypes


def dominant_eigenvalue(loss: Callable[[jax.Array], jax.Array], alphas: jax.Array, key: jax.Array,
                        iterations: int) -> jax.Array:
  """The Hessian eigenvalue of ``loss`` at ``alphas`` (any pytree) largest in magnitude, by
  ``iterations`` steps of power iteration on Hessian-vector products (forward over reverse); the
  Rayleigh quotient of the last vector. Traceable: jit it with ``iterations`` static."""
  flat, unflatten = jax.flatten_util.ravel_pytree(alphas)
  gradient = lambda x: jax.flatten_util.ravel_pytree(jax.grad(lambda y: loss(unflatten(y)))(x))[0]
  hvp = lambda v: jax.jvp(gradient, (flat,), (v,))[1]

  def power_step(_, v):
    w = hvp(v)
    return w / jnp.maximum(jnp.linalg.norm(w), jnp.finfo(w.dtype).tiny)

  v = jax.random.normal(key, flat.shape, flat.dtype)
  v = jax.lax.fori_loop(0, iterations, power_step, v / jnp.linalg.norm(v))
  return jnp.vdot(v, hvp(v)) / jnp.vdot(v, v)


def mean_entropy(mixing: dict[str, np.ndarray]) -> float:
  """Mean over all edges of the entropy (nats) of an edge's mixing weights, normalized to sum to 1
  (sigmoid relaxations do not): log(ops) for undecided edges, 0 for one-hot ones."""
  entropies = []
  for weights in mixing.values():
    p = np.asarray(weights, np.float64)
    p = p / np.maximum(p.sum(-1, keepdims=True), 1e-30)
    entropies.append(-(p * np.log(np.maximum(p, 1e-30))).sum(-1))
  return float(np.mean(np.concatenate([e.ravel() for e in entropies])))


def skip_connections(genotype: genotypes.Genotype) -> int:
  """Skip connections in the genotype's normal cell (DARTS) or its one cell (NAS-Bench-201)."""
  if isinstance(genotype, genotypes.DartsGenotype):
    edges = genotype.normal
  elif isinstance(genotype, genotypes.NB201Genotype):
    edges = [edge for node in genotype.nodes for edge in node]
  else:
    return 0
  return sum(op == "skip_connect" for op, _ in edges)


def early_stop_epoch(eigenvalues: Sequence[float], window: int, ratio: float) -> int | None:
  """DARTS-ES: the epoch whose genotype to keep, when the mean eigenvalue of the last ``window``
  epochs exceeds ``ratio`` times the mean of the ``window`` before (RobustDARTS: window 5, ratio
  1/0.75); None while it does not. The kept epoch is the last one before the latest window."""
  if ratio <= 0 or len(eigenvalues) < 2 * window:
    return None
  recent = np.mean(eigenvalues[-window:])
  before = np.mean(eigenvalues[-2 * window:-window])
  if before > 0 and recent / before > ratio:
    return len(eigenvalues) - window - 1
  return None
