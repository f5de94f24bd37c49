"""FairDARTS (Chu, Zhou, Zhang & Li, ECCV 2020, "Fair DARTS: Eliminating Unfair Advantages in
Differentiable Architecture Search"): every op of an edge gets its own sigmoid weight, so ops stop
competing for one unit of softmax weight (the "unfair advantage" of skip connections), and a
zero-one loss pushes each sigmoid toward 0 or 1, so that the supernet's weights say which ops to
keep.

What this file does, as the authors' code (xiaomi-automl/FairDARTS, ``fairdarts/``) does it:

- mixing weights ``sigmoid(alpha)`` (``model_search.py``: ``F.sigmoid(self.alphas_normal)``);
- the zero-one loss ``L01 = -mean((sigmoid(alpha) - 1/2) ** 2)`` over all of the alphas (every
  edge, op and cell type at once: their ``ConvSeparateLoss`` is ``-F.mse_loss(aux_input, 0.5)`` on
  the normal and reduce sigmoids concatenated), added with weight 10 (``--aux_loss_weight 10``,
  ``--sep_loss l2``) to the validation loss the alphas descend. ``form="l1"`` is their
  ``TriSeparateLoss``, ``-mean(|sigmoid(alpha) - 1/2|)``;
- discretization by threshold (``--parse_method threshold_sparse --op_threshold 0.85``): each node
  keeps its two strongest inputs as the DARTS rule ranks them (an input's strength: its largest
  sigmoid), each with its strongest op, *and drops an input whose weight is below the threshold*.

How the threshold maps onto this project's genotypes (both need every listed edge):

- DARTS cells list exactly two ``(op, input)`` edges per node. A dropped input is written
  ``('none', input)``: the zero op, which adds nothing to the node's sum and has no weights, so the
  retrained network is the sparser cell FairDARTS builds (a node whose two inputs both fall below
  the threshold outputs zeros; their genotypes omit such nodes from the edge list). The two inputs
  themselves are the DARTS rule's choice on the sigmoid weights (``genotypes.darts_cell_rule``).
- NAS-Bench-201 cells have an op on every edge and ``none`` among their ops: each edge keeps its
  strongest op (``genotypes.argmax_cell_rule`` on the sigmoids) when its weight reaches the
  threshold, else ``none`` (the edge dropped).
- ``threshold=0`` keeps every edge: the plain DARTS / argmax rules on the sigmoids (FairDARTS'
  ``--parse_method darts``). Other spaces use their own rule, unthresholded.

The paper's op set has no ``none`` (their ``PRIMITIVES``: 7 ops): under sigmoids the zero op's
weight scales nothing and gets no gradient from the loss. The configs
(``experiments/configs/methods/fair_darts.py``) search without it; the genotypes may still name
``none`` for dropped edges, which the spaces' standard op sets contain.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from darts_jax import genotypes, methods, relaxations
from darts_jax.methods.base import Hyper, Method, Mixing

ZERO_ONE_WEIGHT = 10.0  # their --aux_loss_weight
THRESHOLD = 0.85  # their --op_threshold
FORMS = ("l2", "l1")  # their --sep_loss: ConvSeparateLoss, TriSeparateLoss


def sigmoid_all(alphas: Mixing, key=None, hyper: Hyper | None = None) -> Mixing:
  del key, hyper
  return {label: relaxations.sigmoid(a) for label, a in alphas.items()}


def zero_one_loss(mixing: Mixing, form: str = "l2") -> jax.Array:
  """``-mean((w - 1/2) ** 2)`` (``l2``) or ``-mean(|w - 1/2|)`` (``l1``) over every entry of every
  group of sigmoid weights ``w``: lowest when each weight is 0 or 1."""
  distance = jnp.square if form == "l2" else jnp.abs
  total = sum(jnp.sum(distance(w - 0.5)) for w in mixing.values())
  count = sum(w.size for w in mixing.values())
  return -total / count


def _cut(edges, rows: np.ndarray, row_of, op_names, threshold: float):
  """``edges`` with each ``(op, input)`` whose weight is below ``threshold`` made ``none``."""
  return tuple((op if rows[row_of(k, source), op_names.index(op)] >= threshold else "none", source)
               for k, (op, source) in enumerate(edges))


def threshold_rule(space, mixing: dict[str, np.ndarray], threshold: float) -> genotypes.Genotype:
  """FairDARTS' ``threshold_sparse`` parse on sigmoid weights, in the space's genotype (above)."""
  genotype = space.discretize(mixing)
  if threshold <= 0:
    return genotype
  if isinstance(genotype, genotypes.DartsGenotype):
    cells = {label: _cut(getattr(genotype, label), np.asarray(mixing[label]),
                         lambda k, source: space.edge_index(k // 2, source), space.op_names,
                         threshold) for label in ("normal", "reduce")}
    return dataclasses.replace(genotype, **cells)
  if isinstance(genotype, genotypes.NB201Genotype):
    rows = np.asarray(mixing["cell"])
    return genotypes.NB201Genotype(tuple(
        _cut(node, rows, lambda k, source, j=j: space.edge_index(j, source), space.op_names,
             threshold) for j, node in enumerate(genotype.nodes, start=1)))
  return genotype


@methods.register("fair_darts", zero_one_weight=ZERO_ONE_WEIGHT, threshold=THRESHOLD, form="l2")
def _fair_darts(options) -> Method:
  """FairDARTS: sigmoid mixing weights, the zero-one loss, discretization by threshold."""
  weight, threshold, form = (float(options["zero_one_weight"]), float(options["threshold"]),
                             str(options["form"]))
  if form not in FORMS:
    raise ValueError(f"FairDARTS' zero-one loss form must be one of {FORMS}, not {form!r}")
  if not 0 <= threshold <= 1:
    raise ValueError(f"FairDARTS' threshold is a sigmoid weight in [0, 1], not {threshold}")
  return Method(
      "fair_darts", relax=sigmoid_all, expected=lambda alphas, hyper: sigmoid_all(alphas),
      alpha_penalty=(lambda alphas, mixing, hyper: weight * zero_one_loss(mixing, form))
      if weight else None,
      discretize=lambda space, mixing: threshold_rule(space, mixing, threshold))
