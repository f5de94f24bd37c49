"""``plot_run(workdir)``: every picture of a search, retraining or whole-method (``search/`` +
``retrain/``) workdir, written as PNG and SVG into ``<workdir>/plots``."""

from __future__ import annotations

import json
import os
import subprocess
import warnings

from darts_jax import genotypes
from darts_jax.plotting import alphas, cell_figure, cells, curves, dot, output

ENGINES = ("auto", "dot", "matplotlib")
FILES = ("metrics.jsonl", "genotype.json")
PARTS = ("search", "retrain")


class PlotError(ValueError):
  """A workdir without the files to plot, or with unreadable ones."""


def _runs(workdir: str) -> list[tuple[str, str]]:
  """``[(file name prefix, run folder)]``: the workdir itself, or its ``search``/``retrain``."""
  has_files = lambda d: any(os.path.isfile(os.path.join(d, f)) for f in FILES)
  if not os.path.isdir(workdir):
    raise PlotError(f"workdir {workdir} does not exist")
  if has_files(workdir):
    return [("", workdir)]
  runs = [(f"{part}_", os.path.join(workdir, part)) for part in PARTS
          if has_files(os.path.join(workdir, part))]
  if not runs:
    raise PlotError(
        f"nothing to plot in {workdir}: it has no {' or '.join(FILES)} (nor search/ or retrain/ "
        "subfolders with them). Point --workdir at a search, retrain or whole-run workdir; a run "
        "writes metrics.jsonl when its first epoch ends.")
  return runs


def read_metrics(run_dir: str) -> list[dict]:
  path = os.path.join(run_dir, "metrics.jsonl")
  if not os.path.isfile(path):
    return []
  records = []
  with open(path) as f:
    for n, line in enumerate(f, start=1):
      if line.strip():
        try:
          records.append(json.loads(line))
        except json.JSONDecodeError as e:
          raise PlotError(f"{path} line {n} is not a JSON record ({e})") from None
  bad = [n for n, r in enumerate(records, start=1) if not isinstance(r, dict) or "epoch" not in r]
  if bad:
    raise PlotError(f"{path} line {bad[0]} has no 'epoch' field; is it a darts_jax metrics log?")
  return records


def read_genotype(run_dir: str, history: list[dict]):
  """``genotype.json``, else the genotype of the last record (a search still running), else None."""
  path = os.path.join(run_dir, "genotype.json")
  try:
    if os.path.isfile(path):
      return genotypes.load(path)
    last = next((r["genotype"] for r in reversed(history) if "genotype" in r), None)
    return genotypes.parse(last) if last else None
  except genotypes.GenotypeError as e:
    raise PlotError(f"cannot read the genotype of {run_dir}: {e}") from None


def draw_cell(graph: cells.CellGraph, label: str, stem: str, engine: str = "auto") -> list[str]:
  """``<stem>.png`` and ``.svg`` of one cell: Graphviz's ``dot`` where it is installed (``auto``),
  else matplotlib."""
  if engine not in ENGINES:
    raise PlotError(f"unknown drawing engine {engine!r}; choose one of {ENGINES}")
  if engine == "dot" and not dot.available():
    raise PlotError("the 'dot' engine needs Graphviz's dot program on the PATH "
                    "(apt-get install graphviz), or use engine='matplotlib'")
  if engine != "matplotlib" and dot.available():
    try:
      return dot.render(graph, label, stem)
    except subprocess.CalledProcessError as e:
      if engine == "dot":
        raise PlotError(f"dot failed on the {label} cell: {e.stderr.strip()}") from None
      warnings.warn(f"dot failed on the {label} cell ({e.stderr.strip()}); drawing it with "
                    "matplotlib")
  return output.save(cell_figure.draw(graph, label), stem)


def plot_run(workdir: str, *, engine: str = "auto") -> list[str]:
  """Writes the cells, every edge's mixing weights over the epochs, and the loss/accuracy curves
  of ``workdir`` into ``<workdir>/plots``; returns the written paths. Raises ``PlotError`` naming
  what is missing or unreadable."""
  plots = os.path.join(workdir, "plots")
  written = []
  for prefix, run_dir in _runs(workdir):
    history = read_metrics(run_dir)
    genotype = read_genotype(run_dir, history)
    kind = "search" if any("alphas" in r for r in history) or prefix == "search_" else "retraining"
    if genotype is not None:
      for label, graph in cells.cell_graphs(genotype).items():
        name = "cell" if label == "cell" else f"cell_{label}"
        written += draw_cell(graph, label, os.path.join(plots, f"{prefix}{name}"), engine)
    labels = list(dict.fromkeys(label for r in history for label in r.get("alphas", {})))
    for label in labels:
      fig = alphas.evolution(history, label, f"{label} mixing weights over the search")
      written += output.save(fig, os.path.join(plots, f"{prefix}alphas_{label}"))
    if history:
      written += output.save(curves.figure(history, kind),
                             os.path.join(plots, f"{prefix}curves"))
  return written
