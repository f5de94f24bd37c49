"""Several seeds in one program: each seed's search equals that seed's own run."""

import json

import numpy as np
import pytest

from darts_jax import genotypes, multi_seed, search
from experiments.configs import nb201_digits


def tiny(seed=0, num_seeds=1):
  c = nb201_digits.get_config("quick")
  c.seed, c.num_seeds, c.tensorboard = seed, num_seeds, False
  c.data.subset_size = 96
  c.diagnostics.hessian_iterations = 0
  return c


def test_each_seed_in_one_program_equals_its_own_run(tmp_path):
  """Replica 0 of a 2-seed run equals the seed-0 run (same data split: a multi-seed run shares the
  data of ``config.seed``; seeds vary initialization, alphas and data order); replica 1 differs."""
  together = search.run(tiny(num_seeds=2), str(tmp_path / "both"), report=lambda _: None)
  alone = search.run(tiny(seed=0), str(tmp_path / "seed0"), report=lambda _: None)
  assert len(together.genotypes) == 2 and str(together.genotypes[0]) == str(alone.genotype)
  record = together.history[-1]
  for metric in ("train_loss", "val_loss", "val_acc"):
    assert record["per_seed"][metric][0] == pytest.approx(alone.history[-1][metric], rel=1e-5)
  assert record["per_seed"]["train_loss"][1] != pytest.approx(record["per_seed"]["train_loss"][0])
  stored = json.loads((tmp_path / "both" / "genotypes.json").read_text())
  assert stored["seeds"] == [0, 1] and stored["genotypes"][0] == str(alone.genotype)
  assert stored["agreement"] == multi_seed.agreement(together.genotypes)


def test_agreement_counts_genotypes_and_edges():
  a = genotypes.parse("|skip_connect~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
  b = genotypes.parse("|skip_connect~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|none~1|"
                      "skip_connect~2|")
  found = multi_seed.agreement([a, a, b])
  assert found["same_genotype"] == pytest.approx(2 / 3) and found["distinct"] == 2
  assert found["per_edge"] == pytest.approx((5 * 1.0 + 2 / 3) / 6)
  assert np.isclose(multi_seed.agreement([a])["per_edge"], 1.0)
