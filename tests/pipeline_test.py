"""The main job from the command line: search -> genotype -> retrain -> summary."""

import json
import os
import subprocess
import sys

from darts_jax import genotypes


def test_main_job_command_retrains_the_genotype_its_search_found(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "experiments.run", "--config=experiments/configs/pipeline.py:nb201_quick",
       f"--workdir={tmp_path}"],  # the NB201 supernet compiles fastest
      capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)), timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "final test accuracy" in out.stdout
  summary = json.loads(out.stdout.strip().splitlines()[-1])
  found = genotypes.load(tmp_path / "search" / "genotype.json")
  assert summary["genotype"] == str(found) and summary["space"] == "nb201"
  assert summary["params"] > 0
  retrained = [json.loads(line) for line in open(tmp_path / "retrain" / "metrics.jsonl")]
  assert summary["final_test_acc"] == round(retrained[-1]["test_acc"], 4)
  assert summary["final_test_acc"] > 0.2  # ten classes; two short epochs
  assert json.load(open(tmp_path / "summary.json")) == summary
