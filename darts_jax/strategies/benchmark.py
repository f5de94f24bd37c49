"""The NAS-Bench-201 protocol for table-query strategies and supernet searches, its markdown report
beside the paper, and searches scored by proxy training on a local dataset."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Sequence

import ml_collections
import numpy as np

from darts_jax import genotypes, search, spaces, tabular
from darts_jax.strategies import CategoricalEncoding, Evaluator, TableEvaluator, make, run
from darts_jax.strategies.proxy import ProxyEvaluator
from darts_jax.tabular import correlation

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
PUBLISHED_SUPERNET = {
    "darts_v1": ("DARTS-V1", ((54.30, 0.00), (15.61, 0.00), (16.32, 0.00))),
    "darts_v2": ("DARTS-V2", ((54.30, 0.00), (15.61, 0.00), (16.32, 0.00))),
}
OPTIMUM = (94.37, 73.51, 47.31)
SUPERNET_METHODS = {"darts_v1": "first_order", "darts_v2": "second_order"}  # method -> architect


@dataclasses.dataclass(frozen=True)
class MethodResult:
  """One method over seeds: the returned cells' final accuracies, shape ``[seeds, datasets]``."""

  method: str
  finals: np.ndarray
  archs: tuple[str, ...]
  seconds: float
  searched_on: str = "the 12-epoch tables"


def check_methods(methods: Sequence[str]) -> None:
  """Rejects unknown methods, naming the table and the supernet ones."""
  for method in methods:
    if method not in PUBLISHED and method not in SUPERNET_METHODS:
      raise ValueError(f"unknown method {method!r}; choose from table methods {sorted(PUBLISHED)} "
                       f"or supernet methods {sorted(SUPERNET_METHODS)}")


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


def run_supernet_method(method: str, seeds: int, tables, config: ml_collections.ConfigDict,
                        workdir: str, report=print) -> MethodResult:
  """DARTS on the NB201 space with ``config``'s data (``workdir/<method>/seed_N`` each, resumed when
  there); each found cell's final accuracies are looked up."""
  reported = np.stack([tables.column(*key) for key in REPORTED], axis=1)
  start, finals, archs = time.perf_counter(), [], []
  for seed in range(seeds):
    seed_config = ml_collections.ConfigDict(config.to_dict())
    seed_config.architect, seed_config.seed = SUPERNET_METHODS[method], seed
    found = search.run(seed_config, os.path.join(workdir, method, f"seed_{seed}"),
                       report=report).genotype
    finals.append(reported[tables.row(found)])
    archs.append(str(found))
  return MethodResult(method, np.array(finals), tuple(archs), time.perf_counter() - start,
                      searched_on=f"{config.data.name} (weight-sharing search, {config.epochs} epochs)")


def reproduce(methods: Sequence[str], seeds: int, budget: int = DEFAULT_BUDGET,
              tables_dir: str | None = None, search_config: ml_collections.ConfigDict | None = None,
              workdir: str | None = None, report=print) -> list[MethodResult]:
  """Runs every method ``seeds`` times: table methods under the protocol, supernet methods by a
  search with ``search_config`` (an NB201 space config) in ``workdir`` (a temporary one if None)."""
  check_methods(methods)
  if any(m in SUPERNET_METHODS for m in methods) and (
      search_config is None or search_config.space != "nb201"):
    raise ValueError(f"supernet methods {sorted(SUPERNET_METHODS)} need a search config of the "
                     "nb201 space (e.g. experiments/configs/nb201_digits.py)")
  tables = tabular.load(tables_dir)
  with tempfile.TemporaryDirectory(prefix="reproduce_nb201_") as scratch:
    return [run_supernet_method(m, seeds, tables, search_config, workdir or scratch, report)
            if m in SUPERNET_METHODS else run_method(m, seeds, tables, budget) for m in methods]


def _cell(mean: float, std: float) -> str:
  return f"{mean:.2f} ± {std:.2f}"


def markdown(results: Sequence[MethodResult], budget: int, tables) -> str:
  """The table: ours (mean ± std over seeds) beside the published row, then the optimum; notes say
  which dataset each supernet method searched on."""
  names = ("CIFAR-10", "CIFAR-100", "ImageNet16-120")
  lines = [
      (f"NAS-Bench-201 protocol: search signal = 12-epoch CIFAR-10 validation accuracy "
       f"(cifar10-valid), budget = {budget} queries per run (stands in for the paper's 12,000 "
       "simulated seconds); reported = 200-epoch test accuracy of the returned cell."), "",
      "| method | seeds | " + " | ".join(f"{n} (ours) | {n} (paper)" for n in names) + " | time (s) |",
      "|---|---|" + "---|---|" * len(names) + "---|"]
  for result in results:
    label, published = {**PUBLISHED, **PUBLISHED_SUPERNET}[result.method]
    cells = [f"{_cell(m, s)} | {_cell(*p)}" for m, s, p in
             zip(result.finals.mean(0), result.finals.std(0), published)]
    lines.append(f"| {result.method} (paper: {label}) | {len(result.finals)} | "
                 + " | ".join(cells) + f" | {result.seconds:.1f} |")
  optimum = [tables.column(*key).max() for key in REPORTED]
  lines.append("| optimum | — | " + " | ".join(f"{o:.2f} | {p:.2f}" for o, p in zip(optimum, OPTIMUM))
               + " | — |")
  notes = [f"{r.method}: searched on {r.searched_on}, its cell looked up in the tables (the paper's "
           "row searched on CIFAR-10)." for r in results if r.method in SUPERNET_METHODS]
  return "\n".join(lines + ([""] + notes if notes else []))


@dataclasses.dataclass(frozen=True)
class ProxySearchResult:
  """The best cell of a search scored by proxy training, its proxy score, the incumbent curve."""

  genotype: genotypes.NB201Genotype
  score: float
  best_so_far: list[float]
  seconds: float


def proxy_encoding(config: ml_collections.ConfigDict) -> CategoricalEncoding:
  """NB201 cells over ``config.ops`` (NB201's five when empty), the op set retraining builds from."""
  return CategoricalEncoding(spaces.get("nb201", **(
      {"op_names": tuple(config.ops)} if config.ops else {})))


def proxy_search(method: str, config: ml_collections.ConfigDict, *, budget: int, seed: int,
                 workdir: str | None = None, report=lambda message: None) -> ProxySearchResult:
  """``method`` over NB201 cells for ``budget`` queries, each scored by proxy training (``config``
  is a retrain config with the proxy knobs) on its local dataset."""
  encoding = proxy_encoding(config)
  start = time.perf_counter()
  result = run(make(method, encoding, seed=seed),
               ProxyEvaluator(config, encoding, workdir=workdir, report=report), budget)
  arch, score = max(result.history, key=lambda entry: entry[1])
  return ProxySearchResult(encoding.decode(arch), score, result.best_so_far,
                           time.perf_counter() - start)


def final_accuracies(genotype: genotypes.NB201Genotype,
                     tables_dir: str | None = None) -> dict[str, float] | None:
  """The cell's 200-epoch test accuracy per NB201 dataset; None when the tables are not found."""
  try:
    tables = tabular.load(tables_dir)
  except tabular.TablesNotFoundError:
    return None
  return {key[1]: tables.query(genotype, *key) for key in REPORTED}


def proxy_label(config: ml_collections.ConfigDict) -> str:
  """What a proxy-training config trains on, in words."""
  return (f"{config.epochs} epochs on {config.data.name} (subset "
          f"{config.data.get('subset_fraction', 1.0)}, resolution "
          f"{config.data.get('resolution', 0) or 'native'})")


@dataclasses.dataclass(frozen=True)
class Fidelity:
  """Scores of sampled cells under a proxy and a reference evaluator, their rank correlations, and
  each evaluator's total wall time."""

  cells: tuple[str, ...]
  proxy: np.ndarray
  reference: np.ndarray
  tau: float
  rho: float
  seconds: tuple[float, float]


def training_fidelity(encoding, proxy: Evaluator, reference: Evaluator, *, cells: int,
                      seed: int) -> Fidelity:
  """How well ``proxy`` ranks ``cells`` uniformly sampled cells as ``reference`` does (Kendall tau-b,
  Spearman rho)."""
  rng = np.random.default_rng(seed)
  archs = [encoding.sample(rng) for _ in range(cells)]
  scores, seconds = [], []
  for evaluator in (proxy, reference):
    start = time.perf_counter()
    scores.append(np.array([evaluator(arch) for arch in archs]))
    seconds.append(time.perf_counter() - start)
  return Fidelity(tuple(str(encoding.decode(arch)) for arch in archs), *scores,
                  correlation.kendall_tau(*scores), correlation.spearman(*scores), tuple(seconds))


def fidelity_markdown(fidelity: Fidelity, proxy: str, reference: str) -> str:
  """Per-cell scores, then tau and rho with the wall time of each side."""
  lines = [f"Proxy: {proxy}. Reference: {reference}. Both score held-out validation accuracy.", "",
           "| cell | proxy | reference |", "|---|---|---|"]
  lines += [f"| {c} | {p:.4f} | {r:.4f} |"
            for c, p, r in zip(fidelity.cells, fidelity.proxy, fidelity.reference)]
  lines += ["", "| cells | Kendall tau | Spearman rho | proxy time (s) | reference time (s) |",
            "|---|---|---|---|---|",
            (f"| {len(fidelity.cells)} | {fidelity.tau:.3f} | {fidelity.rho:.3f} | "
             f"{fidelity.seconds[0]:.0f} | {fidelity.seconds[1]:.0f} |")]
  return "\n".join(lines)
