"""The NAS-Bench-201 reproduction harness, end to end on the real tables with 2 seeds."""

import numpy as np
import pytest

from darts_jax import tabular
from darts_jax.strategies import benchmark
from experiments import reproduce_nb201


def test_harness_runs_end_to_end_with_two_seeds(tables_dir, capsys):
  with pytest.raises(SystemExit) as exit_info:
    reproduce_nb201.app.run(reproduce_nb201.main, argv=[
        "reproduce_nb201", "--methods=random,rea,reinforce,bo", "--seeds=2", "--budget=30",
        f"--tables_dir={tables_dir}"])
  assert exit_info.value.code in (None, 0)
  out = capsys.readouterr().out
  assert "budget = 30 queries per run" in out and "12-epoch CIFAR-10 validation" in out
  for label in ("random (paper: Random search) | 2 |", "rea (paper: REA) | 2 |",
                "reinforce (paper: REINFORCE) | 2 |", "bo (paper: BOHB) | 2 |"):
    assert label in out
  assert "93.70 ± 0.36" in out
  assert "| optimum | — | 94.37 | 94.37 | 73.51 | 73.51 | 47.31 | 47.31 |" in out


def test_returned_cells_are_reported_with_their_200_epoch_accuracies(tables_dir):
  tables = tabular.load(tables_dir)
  result = benchmark.run_method("rea", 2, tables, budget=30)
  assert result.finals.shape == (2, 3)
  for arch, finals in zip(result.archs, result.finals):
    expected = [tables.query(arch, "test_accuracy", d, 200) for d in tabular.DATASETS]
    np.testing.assert_allclose(finals, expected)
  assert benchmark.run_method("rea", 2, tables, budget=30).archs == result.archs


@pytest.mark.parametrize("method, words", [("darts_v1", "supernet method"),
                                           ("darts_v2", "supernet method"), ("gdas", "unknown")])
def test_harness_rejects_methods_it_cannot_run(method, words, capsys):
  with pytest.raises(ValueError, match=words):
    benchmark.reproduce([method], seeds=2)
  with pytest.raises(SystemExit) as exit_info:
    reproduce_nb201.app.run(reproduce_nb201.main, argv=["reproduce_nb201", f"--methods={method}"])
  assert exit_info.value.code == 1
  assert words in capsys.readouterr().err
