"""The proxy-training evaluator: held-out validation accuracy of a brief retraining, seeded, counted."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from darts_jax import genotypes, spaces, tabular
from darts_jax.strategies import CategoricalEncoding, ProxyEvaluator, TableEvaluator, benchmark
from darts_jax.tabular import correlation
from experiments.configs import proxy_nb201

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = ("none", "skip_connect", "nor_conv_3x3")
ENCODING = CategoricalEncoding(spaces.get("nb201", op_names=OPS))
# NB201's ResNet-like cell (two stacked convs beside a skip), and the cell that cuts every edge.
RESNET, NONE = ENCODING.encode(genotypes.parse(
    "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")), (0,) * 6


def _config():
  config = proxy_nb201.get_config("quick")
  config.ops = OPS
  return config


@pytest.fixture(scope="module")
def scores():
  evaluator = ProxyEvaluator(_config(), ENCODING)
  result = {"resnet": evaluator(RESNET), "none": evaluator(NONE)}
  assert evaluator.num_queries == 2
  return result


def test_the_resnet_cell_scores_well_above_chance_and_the_all_none_cell_at_chance(scores):
  assert scores["resnet"] > 0.5
  assert scores["none"] < 0.2  # constant logits: one class of ten
  assert scores["resnet"] > scores["none"] + 0.3


def test_same_seed_same_score_and_each_repeat_counts(scores, tmp_path):
  config = _config()
  config.select_on_val = False  # the evaluator holds val out regardless
  evaluator = ProxyEvaluator(config, ENCODING, workdir=str(tmp_path))
  assert evaluator(RESNET) == scores["resnet"]
  assert evaluator.num_queries == 1
  with open(tmp_path / "query_0000" / "metrics.jsonl") as f:
    last = json.loads(f.readlines()[-1])
  assert last["val_acc"] == scores["resnet"]  # the validation split's, never the test split's
  os.makedirs(tmp_path / "query_0001")
  with pytest.raises(FileExistsError, match="query_0001 exists"):
    evaluator(RESNET)  # retraining would resume from the old run: a silent cache
  assert evaluator.num_queries == 1


def test_a_strategy_runs_end_to_end_with_the_proxy_evaluator(scores):
  config = _config()
  config.ops = ("none",)  # one cell, already compiled by the fixture: the plumbing, cheaply
  result = benchmark.proxy_search("rea", config, budget=2, seed=0)
  assert str(result.genotype) == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
  assert result.score == scores["none"] and result.best_so_far == [scores["none"]] * 2


@pytest.mark.slow
def test_search_script_runs_a_strategy_with_the_proxy_evaluator(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "experiments.search_strategies", "--strategy=random", "--budget=2",
       "--config=experiments/configs/proxy_nb201.py:quick", "--config.ops=('none', 'skip_connect')",
       f"--workdir={tmp_path}", "--tables_dir=/nonexistent"],
      capture_output=True, text=True, check=True, cwd=ROOT).stdout
  assert sorted(os.listdir(tmp_path)) == ["query_0000", "query_0001"]
  assert "random: 2 proxy trainings of 2 epochs on digits (subset 0.5" in out
  assert "best cell: |" in out and "proxy score (validation accuracy): 0." in out
  assert "tables not found" in out


def test_training_fidelity_correlates_what_the_two_evaluators_score(tables_dir):
  tables, encoding = tabular.load(tables_dir), CategoricalEncoding()
  fidelity = benchmark.training_fidelity(
      encoding, TableEvaluator(tables, encoding),
      TableEvaluator(tables, encoding, "test_accuracy", "cifar10", 200), cells=12, seed=0)
  np.testing.assert_allclose(
      fidelity.proxy, [tables.query(c, "valid_accuracy", "cifar10", 12) for c in fidelity.cells])
  np.testing.assert_allclose(
      fidelity.reference, [tables.query(c, "test_accuracy", "cifar10", 200) for c in fidelity.cells])
  assert fidelity.tau == correlation.kendall_tau(fidelity.proxy, fidelity.reference) > 0.3
  assert fidelity.rho == correlation.spearman(fidelity.proxy, fidelity.reference)
  table = benchmark.fidelity_markdown(fidelity, "12 epochs", "200 epochs")
  assert f"| 12 | {fidelity.tau:.3f} | {fidelity.rho:.3f} |" in table


@pytest.mark.slow
def test_proxy_correlation_script_trains_the_sampled_cells():
  config, ops = "experiments/configs/proxy_nb201.py:quick", "('none', 'skip_connect')"
  out = subprocess.run(
      [sys.executable, "-m", "experiments.proxy_correlation", "--mode=training", "--cells=3",
       f"--proxy_config={config}", f"--proxy_config.ops={ops}", f"--reference_config={config}",
       f"--reference_config.ops={ops}"],
      capture_output=True, text=True, check=True, cwd=ROOT).stdout
  assert sum(line.startswith("| |") for line in out.splitlines()) == 3
  assert "| 3 | 1.000 | 1.000 |" in out  # the same config ranks the same
