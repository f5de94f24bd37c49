"""The main job: search -> genotype -> retrain -> summary, in the library and from the command line."""

import json
import os
import subprocess
import sys

from darts_jax import genotypes, pipeline
from experiments.configs import pipeline as pipeline_config


def test_pipeline_retrains_the_genotype_its_search_found(tmp_path):
  config = pipeline_config.get_config("nb201_quick")  # the NB201 supernet compiles fastest
  summary = pipeline.run(config, str(tmp_path), report=lambda _: None)
  found = genotypes.load(tmp_path / "search" / "genotype.json")
  assert summary["genotype"] == str(found) and summary["space"] == "nb201"
  retrained = [json.loads(line) for line in open(tmp_path / "retrain" / "metrics.jsonl")]
  assert summary["final_test_acc"] == round(retrained[-1]["test_acc"], 4)
  assert summary["final_test_acc"] > 0.2  # ten classes; two short epochs
  assert json.load(open(tmp_path / "summary.json")) == summary


def test_main_job_command_runs_end_to_end(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "experiments.run", "--config=experiments/configs/pipeline.py:nb201_quick",
       f"--workdir={tmp_path}"],
      capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)), timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  summary = json.loads(out.stdout.strip().splitlines()[-1])
  assert summary["space"] == "nb201" and summary["params"] > 0
  assert "final test accuracy" in out.stdout
