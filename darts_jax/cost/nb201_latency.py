"""NAS-Bench-201 device latency as a per-edge, per-op additive model fitted to the measured table
(15,625 cells x 25 devices): latency ~ intercept + sum over the 6 edges of w[edge, op].

The model's weights are the cost of each op on each edge for one device, which is exactly what the
differentiable cost objective needs; its fit is reported on cells held out of the fit.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from darts_jax import genotypes
from darts_jax.spaces import NB201
from darts_jax.tabular import NB201Tables, QueryError
from darts_jax.tabular.correlation import kendall_tau, spearman

_SPACE = NB201()


def op_indices(archs) -> np.ndarray:
  """``[cells, edges]`` op index (in ``NB201_OPS`` order) of each edge of each cell string."""
  position = {name: k for k, name in enumerate(_SPACE.op_names)}
  return np.array([[position[op] for node in genotypes.parse_nb201(arch).nodes for op, _ in node]
                   for arch in archs])


def _design(indices: np.ndarray) -> np.ndarray:
  """Intercept + one-hot columns of every (edge, op) except ``none`` (the zero of each edge)."""
  cells, num_edges = indices.shape
  one_hot = np.zeros((cells, num_edges, len(_SPACE.op_names)))
  one_hot[np.arange(cells)[:, None], np.arange(num_edges), indices] = 1.0
  return np.concatenate([np.ones((cells, 1)), one_hot[:, :, 1:].reshape(cells, -1)], axis=1)


@functools.lru_cache(maxsize=2)
def _table_design(archs: tuple[str, ...]) -> np.ndarray:
  return _design(op_indices(archs))


@dataclasses.dataclass(frozen=True)
class LatencyModel:
  """``intercept_ms + sum_e weights_ms[e, op_e]``; edges in NB201 order, ops in ``op_names`` order."""

  device: str
  op_names: tuple[str, ...]
  intercept_ms: float
  weights_ms: np.ndarray

  def predict(self, genotype: genotypes.NB201Genotype | str) -> float:
    """Predicted latency (ms) of one cell."""
    indices = op_indices([str(genotype)])[0]
    return float(self.intercept_ms + self.weights_ms[np.arange(len(indices)), indices].sum())

  def edge_costs(self, op_names) -> np.ndarray:
    """``[edges, len(op_names)]`` weights for a space's own op order (for the cost objective)."""
    unknown = [op for op in op_names if op not in self.op_names]
    if unknown:
      raise ValueError(f"the NAS-Bench-201 latency table has no ops {unknown}; it covers "
                       f"{list(self.op_names)}")
    return self.weights_ms[:, [self.op_names.index(op) for op in op_names]]


@dataclasses.dataclass(frozen=True)
class FitReport:
  """How well the model predicts cells it was not fitted on."""

  device: str
  fitted: int
  held_out: int
  kendall_tau: float
  spearman: float
  pearson: float
  median_abs_pct_error: float


def fit(tables: NB201Tables, device: str, *, held_out: float = 0.2,
        seed: int = 0) -> tuple[LatencyModel, FitReport]:
  """Least-squares fit on a random ``1 - held_out`` of the cells; scores on the rest."""
  if device not in tables.devices:
    raise QueryError(f"unknown latency device column {device!r}; the table has {tables.devices}")
  if not 0 < held_out < 1:
    raise ValueError(f"held_out must be a fraction in (0, 1), got {held_out}")
  latency = tables.column("latency", device=device)
  design = _table_design(tables.archs)
  order = np.random.default_rng(seed).permutation(len(latency))
  test, train = np.split(order, [int(held_out * len(order))])
  coef, *_ = np.linalg.lstsq(design[train], latency[train], rcond=None)
  weights = np.concatenate([np.zeros((_SPACE.num_edges, 1)),
                            coef[1:].reshape(_SPACE.num_edges, -1)], axis=1)
  model = LatencyModel(device, _SPACE.op_names, float(coef[0]), weights)
  predicted, measured = design[test] @ coef, latency[test]
  report = FitReport(device, len(train), len(test), kendall_tau(predicted, measured),
                     spearman(predicted, measured), float(np.corrcoef(predicted, measured)[0, 1]),
                     float(np.median(np.abs(predicted - measured) / measured) * 100))
  return model, report
