"""A DARTS-family method as the parts it brings; the search loop composes them and knows no names.

Every part is optional: DARTS itself is ``Method("darts")``. The parts, each with one shape:

- ``relax(alphas, key, hyper) -> mixing``: alphas (``{label: [edges, ops]}``) to the mixing weights
  the cells compute with; ``key`` draws noise for stochastic relaxations (GDAS, SNAS, DrNAS).
- ``expected(alphas, hyper) -> mixing``: the deterministic weights the genotype is parsed from and
  the diagnostics read (the relaxation's mean; for DARTS the same softmax).
- ``alpha_penalty(alphas, mixing, hyper) -> scalar``: added to the loss the alphas descend.
- ``perturb(mixing, key, hyper, loss_of_mixing) -> mixing``: the mixing weights the weight step sees
  (SDARTS' random smoothing and adversarial perturbation).
- ``schedules``: ``{name: f(epoch, epochs) -> float}``; their values reach every part as ``hyper``
  (traced scalars: a schedule changes nothing that is compiled).
- ``joint``: weights and alphas descend one training-batch loss together (SNAS).
- ``network``: static supernet options the method needs (partial channels, edge normalization).
- ``discretize(space, mixing) -> genotype``: a rule other than the space's own.
- ``driver(config, workdir, report, search) -> SearchResult``: a method that runs several searches
  (P-DARTS' stages) calls ``search(stage_config, stage_workdir, report)`` itself.

A schedule named ``train_alphas`` (1 or 0 per epoch) gates the alpha update: 0 during a weights-only
warm-up (PC-DARTS) keeps the alphas and their optimizer state as they were.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from darts_jax import relaxations

Mixing = dict[str, jax.Array]
Hyper = Mapping[str, jax.Array]


def softmax_all(alphas: Mixing, key=None, hyper: Hyper | None = None) -> Mixing:
  """DARTS: a softmax over each edge's ops."""
  del key, hyper
  return {label: relaxations.softmax(a) for label, a in alphas.items()}


@dataclasses.dataclass(frozen=True)
class Method:
  name: str
  relax: Callable[[Mixing, Any, Hyper], Mixing] = softmax_all
  expected: Callable[[Mixing, Hyper], Mixing] = lambda alphas, hyper: softmax_all(alphas)
  alpha_penalty: Callable[[Mixing, Mixing, Hyper], jax.Array] | None = None
  perturb: Callable | None = None
  schedules: Mapping[str, Callable[[int, int], float]] = dataclasses.field(default_factory=dict)
  joint: bool = False
  network: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  discretize: Callable | None = None
  driver: Callable | None = None

  def hyper(self, epoch: int, epochs: int) -> dict[str, np.float32]:
    """The schedules' values for ``epoch`` (of ``epochs``), as float32 scalars for the step."""
    return {name: np.float32(schedule(epoch, epochs)) for name, schedule in self.schedules.items()}


def linear(start: float, end: float) -> Callable[[int, int], float]:
  """From ``start`` at the first epoch to ``end`` at the last (GDAS' temperature)."""
  return lambda epoch, epochs: start + (end - start) * epoch / max(epochs - 1, 1)


def constant(value: float) -> Callable[[int, int], float]:
  return lambda epoch, epochs: value


def after_warmup(warmup_epochs: int) -> Callable[[int, int], float]:
  """The ``train_alphas`` schedule of a weights-only warm-up: 0 for ``warmup_epochs``, then 1."""
  return lambda epoch, epochs: float(epoch >= warmup_epochs)
