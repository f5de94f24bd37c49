"""The NAS-Bench-201 method comparison: its table maths and published rows, table lookups of known
cells through a finished run folder (reused, not searched again), unavailable and failing methods,
and a --quick run of the command end to end."""

import json
import os
import pathlib
import re
import subprocess
import sys
import time
import types

import ml_collections
import numpy as np
import pytest

from darts_jax import comparison, genotypes, methods, search
from darts_jax import workdir as workdir_lib
from experiments.configs import nb201_digits

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = str(ROOT / "experiments" / "configs" / "methods")
PAPER_TABLES = ROOT.parent / "shared" / "PAPER_TABLES.md"
ALL_SKIP = ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
            "skip_connect~2|")
BEST = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "nor_conv_1x1~2|")  # the tables' best CIFAR-10 cell


def test_mean_and_std_over_seeds():
  mean, std = comparison.mean_std([[1.0, 10.0, 0.0], [3.0, 10.0, 4.0]])
  np.testing.assert_allclose(mean, [2.0, 10.0, 2.0])
  np.testing.assert_allclose(std, [1.0, 0.0, 2.0])  # population std, as reproduce_nb201


def _paper_rows() -> dict[str, list[tuple[float, float | None]]]:
  if not PAPER_TABLES.is_file():
    pytest.skip(f"{PAPER_TABLES} not found (the published numbers are checked against it)")
  text = PAPER_TABLES.read_text().split("## NAS-Bench-201", 1)[1].split("\n## ", 1)[0]
  rows = {}
  for line in text.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 4 or not re.match(r"\d", cells[1]):
      continue
    numbers = [re.match(r"([\d.]+)(?: ± ([\d.]+))?", c).groups() for c in cells[1:4]]
    rows[cells[0]] = [(float(m), None if s is None else float(s)) for m, s in numbers]
  return rows


def test_published_rows_are_the_paper_tables():
  rows = _paper_rows()
  for name, (label, published) in comparison.PUBLISHED.items():
    matches = [row for key, row in rows.items() if re.sub(r" \(.*|\s*[✱✔◐]", "", key) == label]
    assert len(matches) == 1, (name, label)
    assert list(published) == matches[0], name
  assert comparison.OPTIMUM == (94.37, 73.51, 47.31)


def _comparison(runs=None, **results):
  budget = comparison.budget("fashion_mnist")
  return comparison.Comparison([comparison.MethodResult(name, runs=list(r), status=status)
                                for name, (status, r) in results.items()], "fashion_mnist",
                               budget, "fashion_mnist from IDX files: 3072 weight + 3072 alpha")


def _run(seed, finals, skips=0, hessian=0.5):
  return comparison.Run(seed, ALL_SKIP, tuple(finals), skips, hessian, 100.0, "data")


def test_markdown_puts_ours_beside_the_paper_with_diagnostics_and_states_the_data():
  table = comparison.markdown(_comparison(
      darts_v1=("ok", [_run(0, (54.30, 15.61, 16.32), 6, 0.2), _run(1, (56.30, 17.61, 18.32), 4,
                                                                    0.4)]),
      sdarts_rs=("ok", [_run(0, (93.0, 70.0, 44.0), 0, None)]),
      beta_darts=("ok", [_run(0, (94.0, 72.0, 46.0))]),
      pc_darts=("unavailable: no config x/pc_darts.py", [])))
  assert "Search data: fashion_mnist from IDX files: 3072 weight + 3072 alpha" in table
  assert "the paper's rows searched CIFAR-10" in table and "6 epoch(s)" in table
  assert ("| darts_v1 (paper: DARTS-V1) | 2 | 55.30 ± 1.00 | 54.30 ± 0.00 | 16.61 ± 1.00 | "
          "15.61 ± 0.00 | 17.32 ± 1.00 | 16.32 ± 0.00 | 5.00 | 0.3 | 100 |") in table
  assert "| sdarts_rs | 1 | 93.00 ± 0.00 | — | 70.00 ± 0.00 | — | 44.00 ± 0.00 | — | 0.00 | — |" \
      in table
  assert "| 94.00 ± 0.00 | 94.36 | 72.00 ± 0.00 | 73.51 |" in table  # no std published
  assert ("| pc_darts (paper: PC-DARTS) | 0 | unavailable: no config x/pc_darts.py | 93.41 ± 0.30 "
          "| — | 67.48 ± 0.89 |") in table
  assert "| optimum | — | — | 94.37 | — | 73.51 | — | 47.31 |" in table
  assert f"- darts_v1 seed 1: `{ALL_SKIP}`" in table


def _finished_run(run_dir, config, genotype, records):
  """A run folder as a finished search leaves it."""
  workdir_lib.record(str(run_dir), config)
  genotypes.save(genotypes.parse(genotype), str(run_dir / "genotype.json"))
  with open(run_dir / "metrics.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in records)


def _config(seed=0, name="darts_v1"):
  config = comparison.method_config(name, CONFIGS, nb201_digits.get_config())
  return comparison.search_config(config, nb201_digits.get_config().data,
                                  comparison.budget("digits", quick=True), seed)


def test_a_finished_run_is_read_back_and_its_cells_looked_up_in_the_tables(tables_dir, tmp_path,
                                                                           monkeypatch):
  from darts_jax import tabular
  tables = tabular.load(tables_dir)
  monkeypatch.setattr(search, "run", lambda *a, **k: pytest.fail("a finished run was searched"))
  for cell, expected, skips in ((ALL_SKIP, (54.30, 15.61, 16.32), 6),
                                (BEST, (94.37, 73.22, 46.71), 1)):
    run_dir = tmp_path / str(skips)
    _finished_run(run_dir, _config(), cell, [
        {"epoch": 0, "seconds": 2.0, "compile_seconds": 5.0, "hessian_eigenvalue": 0.1},
        {"epoch": 1, "seconds": 3.0, "hessian_eigenvalue": 0.7}])
    run, reused = comparison.run_one(_config(), str(run_dir), tables)
    assert reused and run.genotype == cell and run.skip_connections == skips
    np.testing.assert_allclose(run.finals, expected, atol=0.01)
    assert run.finals == tuple(tables.query(cell, "test_accuracy", d, 200)
                               for d in tabular.DATASETS)
    assert run.hessian_eigenvalue == 0.7 and run.seconds == 10.0
  with pytest.raises(workdir_lib.WorkdirError, match="seed"):  # another config there: an error
    comparison.run_one(_config(seed=1), str(tmp_path / "6"), tables)


def test_methods_without_a_usable_config_are_unavailable(tmp_path):
  darts = nb201_digits.get_config()
  assert comparison.method_config("darts_v1", str(tmp_path), darts).architect == "first_order"
  assert comparison.method_config("darts_v2", str(tmp_path), darts).architect == "second_order"
  with pytest.raises(comparison.Unavailable, match="no config .*no_such.py"):
    comparison.method_config("no_such", str(tmp_path), darts)
  (tmp_path / "broken.py").write_text("def get_config(arg=''):\n  raise ValueError('no ' + arg)\n")
  with pytest.raises(comparison.Unavailable, match="broken.py gives no 'nb201' config.*no nb201"):
    comparison.method_config("broken", str(tmp_path), darts)
  (tmp_path / "ghost.py").write_text(
      "from experiments.configs import nb201_digits\n"
      "def get_config(arg=''):\n  c = nb201_digits.get_config()\n  c.method = 'ghost'\n"
      "  return c\n")
  with pytest.raises(comparison.Unavailable, match="'ghost'.*not registered"):
    comparison.method_config("ghost", str(tmp_path), darts)
  config = comparison.method_config("sdarts_adv", CONFIGS, darts)
  assert config.method == "sdarts_adv" and config.space == "nb201"


def test_compare_runs_seed_major_reports_unavailable_and_failed_methods(tables_dir, tmp_path,
                                                                        monkeypatch):
  calls = []

  def fake_search(config, workdir, report):
    calls.append((config.method, config.architect, config.seed, workdir))
    assert config.epochs == 1 and config.network.channels == 4 and not config.tensorboard
    if config.method == "sdarts_adv":
      raise RuntimeError("boom")
    return types.SimpleNamespace(genotype=genotypes.parse(ALL_SKIP),
                                 history=[{"epoch": 0, "seconds": 1.0}])

  monkeypatch.setattr(search, "run", fake_search)
  lines = []
  result = comparison.compare(
      ["darts_v1", "sdarts_adv", "no_such"], 2, workdir=str(tmp_path),
      data=nb201_digits.get_config().data, budget_=comparison.budget("digits", quick=True),
      configs_dir=CONFIGS, darts_config=nb201_digits.get_config(), tables_dir=tables_dir,
      report=lines.append)
  assert [c[:3] for c in calls] == [("darts", "first_order", 0), ("sdarts_adv", "first_order", 0),
                                    ("darts", "first_order", 1)]
  assert calls[2][3] == str(tmp_path / "darts_v1" / "seed_1")
  darts_v1, adv, missing = result.results
  np.testing.assert_allclose(darts_v1.finals, [[54.30, 15.61, 16.32]] * 2, atol=0.01)
  assert adv.status == "failed: RuntimeError: boom" and not adv.runs
  assert missing.status.startswith("unavailable: no config")
  assert any("RuntimeError: boom" in line for line in lines)
  table = comparison.markdown(result)
  assert "| sdarts_adv | 0 | failed: RuntimeError: boom |" in table


def test_a_warm_up_longer_than_the_budget_is_noted():
  warm = methods.Method("warm", schedules={"train_alphas": methods.after_warmup(15)})
  assert "never trained" in comparison.budget_notes("warm", warm, 6)[0]
  assert comparison.budget_notes("warm", warm, 20) == []
  assert comparison.budget_notes("darts", methods.get("darts"), 6) == []


def test_a_warm_up_keeps_its_share_of_the_recipes_epochs_under_the_budget():
  """PC-DARTS trains its alphas after 15 of its 50 epochs: at a 6-epoch budget, after 2 (1.8)."""
  config = comparison.method_config("pc_darts", CONFIGS)
  assert (config.epochs, config.method_options.warmup_epochs) == (50, 15)
  budget = comparison.budget("fashion_mnist")
  searched = comparison.search_config(config, nb201_digits.get_config().data, budget, 0)
  assert (searched.epochs, searched.method_options.warmup_epochs) == (6, 2)
  method = search.method_of(searched)
  assert [method.schedules["train_alphas"](e, 6) for e in range(6)] == [0, 0, 1, 1, 1, 1]


def test_default_budget_and_data():
  assert comparison.default_dataset() in ("fashion_mnist", "digits")
  default = comparison.budget("fashion_mnist")
  assert (default.epochs, default.subset_size, default.resolution) == (6, 3072, 16)
  with pytest.raises(ValueError, match="no comparison budget"):
    comparison.budget("cifar10")
  assert isinstance(comparison.search_config(
      nb201_digits.get_config(), nb201_digits.get_config().data, default, 2),
      ml_collections.ConfigDict)


def _command(*args, env=None):
  return subprocess.run([sys.executable, "-m", "experiments.compare_methods", *args],
                        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
                        env={**os.environ, **(env or {})})


def test_quick_command_end_to_end_then_reused(tables_dir, tmp_path):
  args = ["--methods=darts_v1,no_such", "--seeds=1", "--quick", "--dataset=digits",
          f"--workdir={tmp_path}", f"--tables_dir={tables_dir}"]
  # Small programs cached too: a second test session skips their compiles.
  out = _command(*args, env={"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.2"})
  assert out.returncode == 0, out.stderr[-3000:]
  assert "Search data: digits from scikit-learn bundled digits" in out.stdout
  assert re.search(r"\| darts_v1 \(paper: DARTS-V1\) \| 1 \| \d+\.\d\d ± 0\.00 \| 54\.30 ± 0\.00",
                   out.stdout), out.stdout
  assert "| no_such | 0 | unavailable: no config" in out.stdout
  assert (tmp_path / "darts_v1" / "seed_0" / "genotype.json").exists()
  started = time.time()
  again = _command(*args)
  assert again.returncode == 0, again.stderr[-3000:]
  assert "[darts_v1 seed 0] reused the finished run" in again.stdout + again.stderr
  assert again.stdout.split("Search data:")[1] == out.stdout.split("Search data:")[1]
  assert time.time() - started < 60


def test_command_without_tables_is_one_clear_error(tmp_path):
  out = _command("--methods=darts_v1", "--quick", f"--tables_dir={tmp_path}",
                 f"--workdir={tmp_path / 'runs'}")
  assert out.returncode == 1
  assert "nb201_test_acc_200ep.csv.gz not found" in out.stderr and "Traceback" not in out.stderr
  assert not (tmp_path / "runs").exists()
