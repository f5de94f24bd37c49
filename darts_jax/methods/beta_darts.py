"""β-DARTS (Ye, Li, Li, Chen, Fan & Ouyang, CVPR 2022, "β-DARTS: Beta-Decay Regularization for
Differentiable Architecture Search"): DARTS with the Beta-Decay regularizer on the alphas, whose
weight grows linearly over the search.

The regularizer, as the authors' code has it (Sunshine-Ye/Beta-DARTS,
``optimizers/darts/architect.py``, ``mlc_loss`` and ``_backward_step``):

    L_beta = mean over edges of logsumexp_k(alpha_k)

on the raw alphas (not on their softmax), added to the validation loss of the alpha step with
weight ``lambda_e = 50 * e / 100`` in epoch ``e`` (0-based) of their 100-epoch NAS-Bench-201
search: ``lambda_e = weight * e / epochs`` here, 0 in the first epoch, ``weight * (1 - 1/epochs)``
in the last. Its gradient in an edge's alphas is ``softmax(alpha) = beta``, the activated
architecture weights: each step decays the alphas by their softmax ("Beta-Decay", as weight decay
subtracts the weights), which keeps the softmax from growing peaked.

Several alpha groups (DARTS' normal and reduce cells) share one mean over all of their edges; the
released DARTS-space script (``sota/cnn/train_search.py``) does not reach the regularizer (its
``architect.step`` call passes no epoch), and the paper's NAS-Bench-201 schedule is used for both.
Everything else is first-order DARTS (``--unrolled`` off in their scripts); the genotype is DARTS'
(the space's rule on ``softmax(alpha)``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from darts_jax import methods
from darts_jax.methods.base import Hyper, Method, Mixing

WEIGHT = 50.0  # their `weights = 0 + 50*epoch/100`: the ramp's end point


def beta_decay(alphas: Mixing) -> jax.Array:
  """``mean_edges logsumexp(alpha_edge)`` over every edge of every group."""
  values = [jax.nn.logsumexp(a, axis=-1) for a in alphas.values()]
  return sum(jnp.sum(v) for v in values) / sum(v.size for v in values)


def weight_schedule(weight: float) -> Callable[[int, int], float]:
  """Their linear ramp ``weight * epoch / epochs`` (0 at epoch 0; ``weight`` is approached, not
  reached)."""
  return lambda epoch, epochs: weight * epoch / max(epochs, 1)


@methods.register("beta_darts", weight=WEIGHT)
def _beta_darts(options) -> Method:
  """β-DARTS: DARTS plus the Beta-Decay regularizer under a linearly growing weight."""
  weight = float(options["weight"])
  if weight < 0:
    raise ValueError(f"β-DARTS' regularization weight must be non-negative, not {weight}")

  def penalty(alphas: Mixing, mixing: Mixing, hyper: Hyper) -> jax.Array:
    del mixing
    return hyper["beta_weight"] * beta_decay(alphas)
  return Method("beta_darts", alpha_penalty=penalty,
                schedules={"beta_weight": weight_schedule(weight)})
