"""Compute dtype: activations in ``compute_dtype``, everything a step keeps in float32 or wider.

``"float32"`` leaves inputs in their own dtype, so a float64 run (``jax_enable_x64``, the golden
tests) stays float64 throughout; ``"bfloat16"`` casts the network's input (its activations follow)
and the outputs come back to float32 before the loss. Weights, optimizer states, BatchNorm
statistics, the loss and every gradient keep the parameters' dtype."""

from __future__ import annotations

import jax
import jax.numpy as jnp

DTYPES = ("float32", "bfloat16")


def activations(x: jax.Array, compute_dtype: str = "float32") -> jax.Array:
  """The network input in the compute dtype (float32: ``x`` unchanged, float64 stays float64)."""
  if compute_dtype not in DTYPES:
    raise ValueError(f"compute_dtype {compute_dtype!r} is not one of {DTYPES}")
  return x.astype(jnp.bfloat16) if compute_dtype == "bfloat16" else x


def outputs(tree):
  """Network outputs for the loss: at least float32 (bfloat16 is widened, float64 kept)."""
  return jax.tree.map(lambda y: y.astype(jnp.promote_types(y.dtype, jnp.float32)), tree)
