"""The whole method on one config: search -> discretize -> retrain the found cell -> summary."""

from __future__ import annotations

import json
import os
import time

import ml_collections

from darts_jax import config_schema as cs
from darts_jax import plotting, retrain, search
from darts_jax import workdir as workdir_lib


def check_config(config: ml_collections.ConfigDict) -> None:
  """Checks both sections (the retraining genotype is the one the search will find); raises
  ``ConfigError`` naming every bad field."""
  if set(config.keys()) != {"search", "retrain"}:
    raise cs.ConfigError(f"a pipeline config has the sections search and retrain, got "
                         f"{', '.join(sorted(config.keys()))}")
  search.check_config(config.search)
  retrain.check_config(config.retrain, space_name=config.search.space)


def run(config: ml_collections.ConfigDict, workdir: str, *, report=print) -> dict:
  """Searches into ``<workdir>/search``, retrains its genotype into ``<workdir>/retrain`` (both
  resume), and writes and returns the summary: genotype, weights, test accuracy, wall time. A
  finished run (its ``summary.json`` written) is reported and returned unchanged."""
  check_config(config)
  workdir_lib.check(workdir, config, what="main job")
  summary_path = os.path.join(workdir, "summary.json")
  if os.path.exists(summary_path):
    with open(summary_path) as f:
      summary = json.load(f)
    report(f"the main job in {workdir} already finished; its summary is unchanged")
    return summary
  started = time.time()
  found = search.run(config.search, os.path.join(workdir, "search"), report=report)
  workdir_lib.record(workdir, config)
  retrain_config = config.retrain.copy_and_resolve_references()
  with retrain_config.unlocked():
    retrain_config.genotype = os.path.join(workdir, "search", "genotype.json")
    # The search's op set plus any op its genotype uses beyond it (FairDARTS marks dropped edges
    # 'none', an op its search set leaves out).
    searched = tuple(config.search.ops)
    retrain_config.ops = searched + tuple(sorted(found.genotype.ops() - set(searched))) if (
        searched and callable(found.genotype.ops)) else searched
    retrain_config.ops_module = config.search.get("ops_module", "")
  trained = retrain.train_and_evaluate(retrain_config, os.path.join(workdir, "retrain"),
                                       report=report)
  summary = {"genotype": str(found.genotype), "space": found.genotype.space_name,
             "dataset": config.search.data.name, "params": trained.params,
             "final_test_acc": round(trained.final_test_acc, 4),
             "search_epochs": config.search.epochs, "retrain_epochs": config.retrain.epochs,
             "wall_seconds": round(time.time() - started, 1)}
  with open(os.path.join(workdir, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
  written = plotting.plot_run(workdir)
  report(f"pictures: {len(written)} files in {os.path.join(workdir, 'plots')}")
  return summary
