"""The NAS-Bench-201 reproduction harness, end to end on the real tables with 2 seeds."""

import os
import types

import numpy as np
import pytest

from darts_jax import genotypes, tabular
from darts_jax.strategies import benchmark
from experiments import reproduce_nb201
from experiments.configs import default, nb201_digits

ALL_SKIP = ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
            "skip_connect~2|")


def test_harness_runs_end_to_end_with_two_seeds(tables_dir, capsys):
  with pytest.raises(SystemExit) as exit_info:
    reproduce_nb201.cli.run(reproduce_nb201.main, argv=[
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


def test_harness_rejects_unknown_methods(capsys):
  with pytest.raises(ValueError, match="unknown method 'gdas'.*darts_v1"):
    benchmark.reproduce(["gdas"], seeds=2)
  with pytest.raises(SystemExit) as exit_info:
    reproduce_nb201.cli.run(reproduce_nb201.main, argv=["reproduce_nb201", "--methods=gdas"])
  assert exit_info.value.code == 1
  assert "unknown method" in capsys.readouterr().err
  with pytest.raises(ValueError, match="nb201 space"):
    benchmark.reproduce(["darts_v1"], seeds=1, search_config=default.get_config("quick"))


def test_supernet_methods_run_their_architect_per_seed_and_look_the_cell_up(tables_dir, tmp_path,
                                                                           monkeypatch):
  runs = []

  def fake_search(config, workdir, report):
    del report
    runs.append((config.architect, config.seed, workdir))
    return types.SimpleNamespace(genotype=genotypes.parse(ALL_SKIP))

  monkeypatch.setattr(benchmark.search, "run", fake_search)
  config = nb201_digits.get_config("quick")
  results = benchmark.reproduce(["darts_v1", "darts_v2"], 2, tables_dir=tables_dir,
                                search_config=config, workdir=str(tmp_path))
  assert runs == [(architect, seed, str(tmp_path / method / f"seed_{seed}"))
                  for method, architect in (("darts_v1", "first_order"), ("darts_v2", "second_order"))
                  for seed in (0, 1)]
  np.testing.assert_allclose(results[1].finals, [[54.30, 15.61, 16.32]] * 2, atol=0.01)
  assert config.architect == "first_order" and config.seed == 0  # the caller's config is untouched
  table = benchmark.markdown(results, 100, tabular.load(tables_dir))
  assert "| darts_v2 (paper: DARTS-V2) | 2 | 54.30 ± 0.00 | 54.30 ± 0.00 |" in table
  assert "darts_v2: searched on digits (weight-sharing search, 1 epochs)" in table


@pytest.mark.slow
@pytest.mark.parametrize("method, label", [("darts_v1", "DARTS-V1"), ("darts_v2", "DARTS-V2")])
def test_supernet_method_searches_on_the_given_data_and_looks_its_cell_up(method, label, tables_dir,
                                                                         tmp_path, capsys):
  config = os.path.join(os.path.dirname(reproduce_nb201.__file__), "configs", "nb201_digits.py")
  with pytest.raises(SystemExit) as exit_info:
    reproduce_nb201.cli.run(reproduce_nb201.main, argv=[
        "reproduce_nb201", f"--methods={method}", "--seeds=1", f"--tables_dir={tables_dir}",
        f"--search_config={config}:quick", f"--search_workdir={tmp_path}"])
  assert exit_info.value.code in (None, 0)
  out = capsys.readouterr().out
  found = genotypes.load(tmp_path / method / "seed_0" / "genotype.json")
  finals = [tabular.query(found, "test_accuracy", d, 200, tables_dir=tables_dir)
            for d in tabular.DATASETS]
  assert f"| {method} (paper: {label}) | 1 | {finals[0]:.2f} ± 0.00 | 54.30 ± 0.00 |" in out
  assert f"{method}: searched on digits (weight-sharing search, 1 epochs)" in out
