"""The NAS-Bench-201 protocol for table-query strategies, and its markdown report beside the paper."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from darts_jax import tabular
from darts_jax.strategies import CategoricalEncoding, TableEvaluator, make, run

# The paper's 12,000 simulated seconds, at roughly 120 s per 12-epoch training on cifar10-valid, buy
# about 100 queries; the tables carry no per-cell training time, so the budget is a query count.
DEFAULT_BUDGET = 100
SIGNAL = ("valid_accuracy", "cifar10", 12)
REPORTED = tuple(("test_accuracy", dataset, 200) for dataset in tabular.DATASETS)

# Final 200-epoch test accuracy (%), mean and std, NAS-Bench-201 paper (../shared/PAPER_TABLES.md).
PUBLISHED = {
    "random": ("Random search", ((93.70, 0.36), (71.04, 1.07), (44.57, 1.25))),
    "rea": ("REA", ((93.92, 0.30), (71.84, 0.99), (45.54, 1.03))),
    "reinforce": ("REINFORCE", ((93.85, 0.37), (71.71, 1.09), (45.24, 1.18))),
    "bo": ("BOHB", ((93.61, 0.52), (70.85, 1.28), (44.42, 1.49))),
}
OPTIMUM = (94.37, 73.51, 47.31)
SUPERNET_METHODS = ("darts_v1", "darts_v2")


@dataclasses.dataclass(frozen=True)
class MethodResult:
  """One method over seeds: the returned cells' final accuracies, shape ``[seeds, datasets]``."""

  method: str
  finals: np.ndarray
  archs: tuple[str, ...]
  seconds: float


def check_methods(methods: Sequence[str]) -> None:
  """Rejects unknown methods, and supernet methods until the NB201 supernet search is wired in."""
  for method in methods:
    if method in SUPERNET_METHODS:
      raise ValueError(f"{method} is a supernet method: it searches with weight sharing on a dataset, "
                       "not by table queries, and is not wired into this harness yet; table methods "
                       f"are {sorted(PUBLISHED)}")
    if method not in PUBLISHED:
      raise ValueError(f"unknown method {method!r}; choose from {sorted(PUBLISHED)} "
                       f"(supernet methods {list(SUPERNET_METHODS)} are not available yet)")


def run_method(method: str, seeds: int, tables, budget: int = DEFAULT_BUDGET) -> MethodResult:
  """Searches ``seeds`` times on the 12-epoch signal; reports each returned cell's final accuracies."""
  encoding = CategoricalEncoding()
  reported = np.stack([tables.column(*key) for key in REPORTED], axis=1)
  start, finals, archs = time.perf_counter(), [], []
  for seed in range(seeds):
    result = run(make(method, encoding, seed=seed), TableEvaluator(tables, encoding, *SIGNAL), budget)
    best = encoding.decode(result.best)
    finals.append(reported[tables.row(best)])
    archs.append(str(best))
  return MethodResult(method, np.array(finals), tuple(archs), time.perf_counter() - start)


def reproduce(methods: Sequence[str], seeds: int, budget: int = DEFAULT_BUDGET,
              tables_dir: str | None = None) -> list[MethodResult]:
  """Runs every method ``seeds`` times under the protocol; the tables are read once."""
  check_methods(methods)
  tables = tabular.load(tables_dir)
  return [run_method(method, seeds, tables, budget) for method in methods]


def _cell(mean: float, std: float) -> str:
  return f"{mean:.2f} ± {std:.2f}"


def markdown(results: Sequence[MethodResult], budget: int, tables) -> str:
  """The table: ours (mean ± std over seeds) beside the published row, then the optimum."""
  names = ("CIFAR-10", "CIFAR-100", "ImageNet16-120")
  lines = [
      f"NAS-Bench-201 protocol: search signal = 12-epoch CIFAR-10 validation accuracy "
      f"(cifar10-valid), budget = {budget} queries per run (stands in for the paper's 12,000 "
      "simulated seconds); reported = 200-epoch test accuracy of the returned cell.", "",
      "| method | seeds | " + " | ".join(f"{n} (ours) | {n} (paper)" for n in names) + " | time (s) |",
      "|---|---|" + "---|---|" * len(names) + "---|"]
  for result in results:
    label, published = PUBLISHED[result.method]
    cells = [f"{_cell(m, s)} | {_cell(*p)}" for m, s, p in
             zip(result.finals.mean(0), result.finals.std(0), published)]
    lines.append(f"| {result.method} (paper: {label}) | {len(result.finals)} | "
                 + " | ".join(cells) + f" | {result.seconds:.1f} |")
  optimum = [tables.column(*key).max() for key in REPORTED]
  lines.append("| optimum | — | " + " | ".join(f"{o:.2f} | {p:.2f}" for o, p in zip(optimum, OPTIMUM))
               + " | — |")
  return "\n".join(lines)
