"""The whole method on one config: search -> discretize -> retrain the found cell -> summary."""

from __future__ import annotations

import json
import os
import time

import ml_collections

from darts_jax import retrain, search


def run(config: ml_collections.ConfigDict, workdir: str, *, report=print) -> dict:
  """Searches into ``<workdir>/search``, retrains its genotype into ``<workdir>/retrain`` (both
  resume), and writes and returns the summary: genotype, weights, test accuracy, wall time."""
  started = time.time()
  found = search.run(config.search, os.path.join(workdir, "search"), report=report)
  retrain_config = config.retrain.copy_and_resolve_references()
  with retrain_config.unlocked():
    retrain_config.genotype = os.path.join(workdir, "search", "genotype.json")
    retrain_config.ops = tuple(config.search.ops)
  trained = retrain.train_and_evaluate(retrain_config, os.path.join(workdir, "retrain"),
                                       report=report)
  summary = {"genotype": str(found.genotype), "space": found.genotype.space_name,
             "dataset": config.search.data.name, "params": trained.params,
             "final_test_acc": round(trained.final_test_acc, 4),
             "search_epochs": config.search.epochs, "retrain_epochs": config.retrain.epochs,
             "wall_seconds": round(time.time() - started, 1)}
  with open(os.path.join(workdir, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
  return summary
