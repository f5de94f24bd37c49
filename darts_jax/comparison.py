"""DARTS-family methods side by side on NAS-Bench-201: every method searches the NB201 space on one
local dataset under one common proxy budget, each found cell is looked up in the NAS-Bench-201
tables (200-epoch test accuracy on CIFAR-10, CIFAR-100, ImageNet16-120), and one markdown table puts
the mean ± std over seeds beside the published rows, with the collapse diagnostics of each run.

A method comes from its config ``<configs_dir>/<name>.py`` (``get_config('nb201')``); the budget
then replaces its data, network size, epochs, batch size and Hessian iterations, so that every method
searches the same images with the same supernet for the same number of steps, and keeps everything
else of its recipe (method options, architect, optimizers, step order, op set). ``darts_v1`` and
``darts_v2`` are DARTS first and second order on the given NB201 DARTS config unless a config file
names them. Runs go to ``<workdir>/<method>/seed_<n>``; a finished run is read back, an interrupted
one resumed.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence

import ml_collections
import numpy as np

from darts_jax import diagnostics, genotypes, methods, search, tabular
from darts_jax import workdir as workdir_lib
from darts_jax.data import sources
from darts_jax.strategies import benchmark

DATASET_NAMES = ("CIFAR-10", "CIFAR-100", "ImageNet16-120")
REPORTED = benchmark.REPORTED  # (test_accuracy, dataset, 200) for the three NB201 datasets

# Final 200-epoch test accuracy (%) as (mean, std) per dataset; std None where the source gives
# none. NAS-Bench-201 table of ../shared/PAPER_TABLES.md (search on CIFAR-10; the NAS-Bench-201
# paper's rows, and DrNAS', PC-DARTS', SNAS', DARTS-' and beta-DARTS' own reports).
PUBLISHED: dict[str, tuple[str, tuple[tuple[float, float | None], ...]]] = {
    "darts_v1": ("DARTS-V1", ((54.30, 0.00), (15.61, 0.00), (16.32, 0.00))),
    "darts_v2": ("DARTS-V2", ((54.30, 0.00), (15.61, 0.00), (16.32, 0.00))),
    "gdas": ("GDAS", ((93.61, 0.09), (70.70, 0.30), (41.71, 0.98))),
    "setn": ("SETN", ((87.64, 0.00), (59.05, 0.24), (32.52, 0.21))),
    "enas": ("ENAS", ((54.30, 0.00), (15.61, 0.00), (16.32, 0.00))),
    "rsps": ("RSPS", ((87.66, 1.69), (58.33, 4.34), (31.14, 3.88))),
    "snas": ("SNAS", ((92.77, 0.83), (69.34, 1.98), (43.16, 2.64))),
    "pc_darts": ("PC-DARTS", ((93.41, 0.30), (67.48, 0.89), (41.31, 0.22))),
    "drnas": ("DrNAS", ((94.36, 0.00), (73.51, 0.00), (46.34, 0.00))),
    "darts_minus": ("DARTS-", ((93.80, 0.40), (71.53, 1.51), (45.12, 0.82))),
    "beta_darts": ("β-DARTS", ((94.36, None), (73.51, None), (46.34, None))),
}
OPTIMUM = benchmark.OPTIMUM  # the best cell of the tables, as the paper prints it
ARCHITECTS = {"darts_v1": "first_order", "darts_v2": "second_order"}  # DARTS without a config file


@dataclasses.dataclass(frozen=True)
class Budget:
  """What every method gets: the search data's size, the supernet, the steps."""

  epochs: int
  batch_size: int
  subset_size: int  # images in each of the weight and alpha splits (0: all)
  resolution: int  # square side the images are resized to (0: native)
  channels: int
  cells_per_stage: int
  hessian_iterations: int  # power iterations for the per-epoch Hessian eigenvalue

  def describe(self) -> str:
    hessian = (f"Hessian eigenvalue by {self.hessian_iterations} power iterations"
               if self.hessian_iterations else "no Hessian eigenvalue")
    return (f"supernet C={self.channels}, {self.cells_per_stage} cell(s) per stage, batch "
            f"{self.batch_size}, {self.epochs} epoch(s), {hessian}")


# Sized for about 6 methods x 3 seeds in an hour on 2 CPU cores (experiments/compare_methods.py says
# what was measured): Fashion-MNIST at 16x16, 3,072 + 3,072 images (48 steps per epoch), 6 epochs.
DEFAULT_BUDGETS = {
    "fashion_mnist": Budget(epochs=6, batch_size=64, subset_size=3072, resolution=16, channels=8,
                            cells_per_stage=1, hessian_iterations=10),
    # The digits' ~720 + 720 search images at their native 8x8: 12 steps per epoch.
    "digits": Budget(epochs=24, batch_size=64, subset_size=0, resolution=0, channels=8,
                     cells_per_stage=1, hessian_iterations=10),
}
# A smoke run: 4 steps of a C=4 supernet; no Hessian (its compile would double the run's time).
QUICK_BUDGETS = {
    "fashion_mnist": Budget(epochs=1, batch_size=32, subset_size=128, resolution=16, channels=4,
                            cells_per_stage=1, hessian_iterations=0),
    "digits": Budget(epochs=1, batch_size=32, subset_size=128, resolution=0, channels=4,
                     cells_per_stage=1, hessian_iterations=0),
}


def default_dataset() -> str:
  """Fashion-MNIST where Debian's copy is installed (apt-get install dataset-fashion-mnist), else
  the embedded digits."""
  folder = sources.DEBIAN_FASHION_MNIST
  present = os.path.isdir(folder) and any(n.startswith("train-images") for n in os.listdir(folder))
  return "fashion_mnist" if present else "digits"


def budget(dataset: str, quick: bool = False) -> Budget:
  budgets = QUICK_BUDGETS if quick else DEFAULT_BUDGETS
  if dataset not in budgets:
    raise ValueError(f"no comparison budget for dataset {dataset!r}; choose one of "
                     f"{sorted(budgets)}")
  return budgets[dataset]


class Unavailable(Exception):
  """A method that cannot be run here (no config file, not registered, not an NB201 config)."""


def _load_config_file(path: str, arg: str) -> ml_collections.ConfigDict:
  spec = importlib.util.spec_from_file_location(f"_method_config_{os.path.basename(path)[:-3]}",
                                                path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def method_config(name: str, configs_dir: str,
                  darts_config: ml_collections.ConfigDict | None = None) -> ml_collections.ConfigDict:
  """The NB201 search config of method ``name``: ``<configs_dir>/<name>.py`` with arg 'nb201', or
  for ``darts_v1``/``darts_v2`` without a file, ``darts_config`` with their architect. Raises
  ``Unavailable`` saying why not."""
  path = os.path.join(configs_dir, f"{name}.py")
  if os.path.isfile(path):
    try:
      config = _load_config_file(path, "nb201")
    except Exception as e:  # noqa: BLE001  (a config that cannot give its nb201 search)
      raise Unavailable(f"{path} gives no 'nb201' config ({type(e).__name__}: {e})") from None
  elif name in ARCHITECTS and darts_config is not None:
    config = ml_collections.ConfigDict(darts_config.to_dict())
    config.method, config.architect = "darts", ARCHITECTS[name]
  else:
    raise Unavailable(f"no config {path}")
  method = config.get("method", "darts")
  if method not in methods.names():
    raise Unavailable(f"method {method!r} of {path} is not registered in darts_jax.methods")
  if config.get("space") != "nb201":
    raise Unavailable(f"{path}:nb201 searches the {config.get('space')!r} space, not nb201")
  return config


def search_config(config: ml_collections.ConfigDict, data: ml_collections.ConfigDict,
                  budget_: Budget, seed: int) -> ml_collections.ConfigDict:
  """``config`` (a method's NB201 search) with the comparison's data, budget and ``seed``."""
  c = ml_collections.ConfigDict(config.to_dict())
  c.data = ml_collections.ConfigDict(data.to_dict())
  c.data.subset_size, c.data.resolution = budget_.subset_size, budget_.resolution
  c.network.channels, c.network.cells_per_stage = budget_.channels, budget_.cells_per_stage
  c.epochs, c.batch_size = budget_.epochs, budget_.batch_size
  options = c.get("method_options") or {}
  if options.get("warmup_epochs") and config.epochs:
    # A weights-only warm-up keeps its share of the recipe's epochs (PC-DARTS: 15 of 50).
    c.method_options.warmup_epochs = round(
        options["warmup_epochs"] * budget_.epochs / config.epochs)
  c.diagnostics.hessian_iterations = budget_.hessian_iterations
  c.tensorboard, c.seed = False, seed
  search.check_config(c)
  return c


def budget_notes(name: str, method: methods.Method, epochs: int) -> list[str]:
  """What the budget changes about a method's recipe that a reader must know."""
  gate = method.schedules.get("train_alphas")
  if gate is not None and not any(gate(epoch, epochs) for epoch in range(epochs)):
    return [(f"{name}: its weights-only warm-up outlasts the {epochs} epochs, so its alphas never "
             "trained: the cell is parsed from the initial alphas")]
  return []


@dataclasses.dataclass(frozen=True)
class Run:
  """One search: the found cell, its tabulated accuracies, its last epoch's diagnostics."""

  seed: int
  genotype: str
  finals: tuple[float, float, float]
  skip_connections: int
  hessian_eigenvalue: float | None
  seconds: float  # compile + epochs, from its metrics
  data: str  # what the run's data.json says it searched


@dataclasses.dataclass
class MethodResult:
  method: str
  runs: list[Run] = dataclasses.field(default_factory=list)
  status: str = "ok"  # or "unavailable: why" / "failed: why"
  notes: list[str] = dataclasses.field(default_factory=list)

  @property
  def finals(self) -> np.ndarray:
    return np.array([r.finals for r in self.runs]).reshape(-1, len(REPORTED))


@dataclasses.dataclass
class Comparison:
  results: list[MethodResult]
  dataset: str
  budget: Budget
  data: str  # the search data in words


def _data_words(run_dir: str) -> str:
  try:
    with open(os.path.join(run_dir, "data.json")) as f:
      found = json.load(f)
  except (OSError, json.JSONDecodeError):
    return "unknown (no data.json)"
  splits = found.get("splits", {})
  train, val = splits.get("train", {}), splits.get("val", {})
  shape = "x".join(str(s) for s in train.get("image_shape", []))
  return (f"{found.get('name')} from {found.get('source')}: {train.get('examples')} weight + "
          f"{val.get('examples')} alpha images of {shape}")


def _history(run_dir: str) -> list[dict]:
  with open(os.path.join(run_dir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f if line.strip()]


def run_one(config: ml_collections.ConfigDict, run_dir: str, tables, report=print) -> tuple[Run, bool]:
  """Searches with ``config`` in ``run_dir`` (read back when finished there, resumed when
  interrupted); returns the run and whether it was reused."""
  genotype_path = os.path.join(run_dir, "genotype.json")
  reused = os.path.exists(genotype_path)
  if reused:
    workdir_lib.check(run_dir, config, what="search")  # another budget or recipe: an error
    genotype, history = genotypes.load(genotype_path), _history(run_dir)
  else:
    result = search.run(config, run_dir, report=report)
    genotype, history = result.genotype, result.history
  last = history[-1] if history else {}
  seconds = sum(r.get("seconds", 0.0) + r.get("compile_seconds", 0.0) for r in history)
  finals = tuple(tables.query(genotype, *key) for key in REPORTED)
  hessian = last.get("hessian_eigenvalue")
  return Run(config.seed, str(genotype), finals, diagnostics.skip_connections(genotype),
             None if hessian is None else float(hessian), seconds, _data_words(run_dir)), reused


def compare(names: Sequence[str], seeds: int, *, workdir: str, data: ml_collections.ConfigDict,
            budget_: Budget, configs_dir: str, darts_config: ml_collections.ConfigDict | None = None,
            tables_dir: str | None = None, report: Callable[[str], None] = print) -> Comparison:
  """Every available method of ``names`` searched with seeds 0..seeds-1 (seed-major, so an
  interrupted comparison has the first seeds of every method), each cell looked up. A method that
  is unavailable or whose search raises is reported as such; the others go on."""
  tables = tabular.load(tables_dir)  # missing tables fail before any search
  results, configs = {}, {}
  for name in names:
    results[name] = MethodResult(name)
    try:
      configs[name] = method_config(name, configs_dir, darts_config)
      searched = search_config(configs[name], data, budget_, 0)  # checked before the first search
    except Unavailable as e:
      results[name].status = f"unavailable: {e}"
    except Exception as e:  # noqa: BLE001  (a config the search refuses)
      results[name].status = f"unavailable: {type(e).__name__}: {e}"
    if results[name].status == "ok":
      # The method as the runs get it (a warm-up scaled to the budget).
      results[name].notes = budget_notes(name, search.method_of(searched), budget_.epochs)
    else:
      report(f"{name}: {results[name].status}")
  for seed in range(seeds):
    for name in names:
      result = results[name]
      if result.status != "ok":
        continue
      run_dir = os.path.join(workdir, name, f"seed_{seed}")
      started = time.time()
      try:
        run, reused = run_one(search_config(configs[name], data, budget_, seed), run_dir, tables,
                              report=lambda line, name=name, seed=seed: report(
                                  f"[{name} seed {seed}] {line}"))
      except workdir_lib.WorkdirError:
        raise  # a workdir of other settings: the user's choice to make, not a method's failure
      except Exception as e:  # noqa: BLE001  (one method's failure must not end the comparison)
        result.status = f"failed: {type(e).__name__}: {e}"
        report(f"[{name} seed {seed}] failed:\n{traceback.format_exc()}")
        continue
      result.runs.append(run)
      how = "reused the finished run" if reused else f"searched in {time.time() - started:.0f}s"
      report(f"[{name} seed {seed}] {how}: {run.genotype} -> "
             + ", ".join(f"{n} {a:.2f}" for n, a in zip(DATASET_NAMES, run.finals)))
  described = next((r.data for res in results.values() for r in res.runs), None)
  return Comparison(list(results.values()), data.name, budget_, described or data.name)


def mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean and (population, ddof=0, as reproduce_nb201) standard deviation over seeds (axis 0)."""
  values = np.asarray(values, np.float64)
  return values.mean(0), values.std(0)


def _cell(mean: float, std: float | None) -> str:
  return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def _published(name: str) -> tuple[str, list[str]]:
  if name not in PUBLISHED:
    return "", ["—"] * len(REPORTED)
  label, rows = PUBLISHED[name]
  return f" (paper: {label})", [_cell(*row) for row in rows]


def markdown(comparison: Comparison) -> str:
  """The table: ours beside the paper per dataset, skip connections and final Hessian eigenvalue
  (means over seeds), seconds per run of compiling and epochs (the metrics' record: data loading
  and the between-epoch diagnostics are not in it); then the optimum, notes and the found cells."""
  b = comparison.budget
  lines = [
      (f"Search data: {comparison.data} (the same for every method; the paper's rows searched "
       f"CIFAR-10). Budget: {b.describe()}. Reported: the found cell's 200-epoch test accuracy (%) "
       "in the NAS-Bench-201 tables, mean ± std over seeds; skip connections of the cell and the "
       "last epoch's Hessian eigenvalue, means over seeds."), "",
      "| method | seeds | " + " | ".join(f"{n} (ours) | {n} (paper)" for n in DATASET_NAMES)
      + " | skip connections | Hessian eigenvalue | compile + epochs (s/run) |",
      "|---|---|" + "---|---|" * len(DATASET_NAMES) + "---|---|---|"]
  notes, cells = [], []
  for result in comparison.results:
    label, paper = _published(result.method)
    if not result.runs:
      lines.append(f"| {result.method}{label} | 0 | " + " | ".join(
          f"{result.status} | {p}" if i == 0 else f"— | {p}" for i, p in enumerate(paper))
          + " | — | — | — |")
      continue
    means, stds = mean_std(result.finals)
    ours = [_cell(m, s) for m, s in zip(means, stds)]
    hessians = [r.hessian_eigenvalue for r in result.runs if r.hessian_eigenvalue is not None]
    hessian = f"{np.mean(hessians):.4g}" if hessians else "—"
    skips = np.mean([r.skip_connections for r in result.runs])
    seconds = np.mean([r.seconds for r in result.runs])
    lines.append(f"| {result.method}{label} | {len(result.runs)} | "
                 + " | ".join(f"{o} | {p}" for o, p in zip(ours, paper))
                 + f" | {skips:.2f} | {hessian} | {seconds:.0f} |")
    if result.status != "ok":
      notes.append(f"{result.method}: {result.status} (after {len(result.runs)} seed(s))")
    notes += result.notes
    cells += [f"- {result.method} seed {r.seed}: `{r.genotype}`" for r in result.runs]
  lines.append("| optimum | — | " + " | ".join(f"— | {p:.2f}" for p in OPTIMUM)
               + " | — | — | — |")
  if notes:
    lines += ["", "Notes:"] + [f"- {n}" for n in notes]
  if cells:
    lines += ["", "Found cells:"] + cells
  return "\n".join(lines)
