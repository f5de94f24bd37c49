"""``python -m experiments.cost``: the table and its JSON line; genotype by name, path or string."""

import json
import os
import subprocess
import sys

import pytest

from darts_jax import genotypes
from darts_jax.cost import report
from experiments.configs import cost as cost_config

NB201_CELL = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"


def test_cost_experiment_prints_a_table_then_one_json_line(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "experiments.cost", "--config=experiments/configs/cost.py:quick",
       f"--config.genotype={NB201_CELL}", "--config.layers=1", "--config.batch_sizes=1,2"],
      capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)), timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  lines = out.stdout.strip().splitlines()
  result = json.loads(lines[-1])
  assert {"params", "flops", "macs", "latency_ms", "device"} <= set(result)
  assert result["flops"] == 2 * result["macs"] > 0 and set(result["latency_ms"]) == {"1", "2"}
  assert result["space"] == "nb201" and result["genotype"] == NB201_CELL
  text = "\n".join(lines[:-1])
  for label in ("params", "MACs", "FLOPs", "latency   batch 2", "energy", "device"):
    assert label in text


def test_genotype_by_name_path_or_literal(tmp_path):
  config = cost_config.get_config("quick")
  path = tmp_path / "genotype.json"
  genotypes.save(genotypes.PUBLISHED["PDARTS"], path)
  for spec in ("PDARTS", str(path), str(genotypes.PUBLISHED["PDARTS"])):
    config.genotype = spec
    assert report.resolve(config) == (genotypes.PUBLISHED["PDARTS"], report.spaces.get("darts_cnn"))


def test_genotype_for_another_space_is_a_clear_error():
  config = cost_config.get_config("quick")
  config.space = "nb201"
  with pytest.raises(genotypes.GenotypeError, match="darts_cnn space, not nb201"):
    report.resolve(config)
