"""DARTS- (Chu, Wang, Zhang, Zhang, Wei & Yan, ICLR 2021, "DARTS-: Robustly Stepping out of
Performance Collapse Without Indicators"): an auxiliary skip connection on every edge, outside the
mixed op, takes over the skip connection's advantage in training (the residual path that makes
``skip_connect`` win in DARTS), so the alphas can judge the ops fairly:

    out_edge = sum_k softmax(alpha)_k op_k(x) + beta * aux(x),

``aux`` the identity (a non-affine ``FactorizedReduce`` on strided edges), ``beta`` decaying
linearly from 1 over the search, so that the supernet at the end is DARTS' own.

What the authors' code (Meituan-AutoML/DARTS-, ``model_search.py`` and its ``DecayScheduler``)
does, and this file follows:

- ``MixedOp``: ``auxiliary_op`` is ``FactorizedReduce(C, C, affine=False)`` at stride 2 and
  ``Identity`` otherwise, added to the mixture times the network's current ``beta`` (the network's
  static option ``auxiliary_skip``; ``beta`` reaches it as ``mixed.EdgeMixing.auxiliary``);
- ``DecayScheduler(decay_type='linear')``: ``beta = base * (T_max - epoch) / T_max`` with
  ``T_max`` the epochs and ``base = 1``: 1 in the first epoch, ``1 / epochs`` in the last (0 would
  follow it). ``linear(1, 0)`` of ``methods.base`` would reach 0 in the last epoch instead;
- the rest is DARTS: the softmax relaxation, the alphas by the config's architect, the genotype by
  the space's rule from ``softmax(alpha)`` (the auxiliary skip is not a candidate and is dropped
  with the supernet).
"""

from __future__ import annotations

from collections.abc import Callable

from darts_jax import methods
from darts_jax.methods.base import Hyper, Method, Mixing, softmax_all
from darts_jax.supernet import mixed

BETA_START = 1.0  # DecayScheduler(base_lr=1.0, ...)


def beta_schedule(start: float = BETA_START) -> Callable[[int, int], float]:
  """Their linear decay: ``start * (epochs - epoch) / epochs``."""
  return lambda epoch, epochs: start * (epochs - epoch) / max(epochs, 1)


def relax(alphas: Mixing, key=None, hyper: Hyper | None = None) -> Mixing:
  """DARTS' softmax, wrapped with the auxiliary skip's coefficient ``hyper['beta']``."""
  return {label: mixed.EdgeMixing(w, auxiliary=hyper["beta"])
          for label, w in softmax_all(alphas, key).items()}


@methods.register("darts_minus", beta_start=BETA_START)
def _darts_minus(options) -> Method:
  """DARTS-: an auxiliary skip beside every mixed op, its coefficient decaying linearly from
  ``beta_start``."""
  start = float(options["beta_start"])
  if start < 0:
    raise ValueError(f"DARTS-' beta_start must be non-negative, not {start}")
  return Method("darts_minus", relax=relax, schedules={"beta": beta_schedule(start)},
                network={"auxiliary_skip": True})
