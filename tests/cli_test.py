"""Bad input from the command line: one message, no traceback, a non-zero exit, the workdir untouched.

Each case runs an experiment script in a subprocess, as a user would. Cases that need a checkpoint
first make one with a short real retraining run (NAS-Bench-201 cell on digits, compiles in seconds).
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from darts_jax import workdir as workdir_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent
NB201_CELL = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|skip_connect~2|"
QUICK_RETRAIN = ["--config=experiments/configs/proxy_nb201.py:quick",
                 f"--config.genotype={NB201_CELL}", "--config.epochs=1"]


def run(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", f"experiments.{script}", *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=600,
                        env={**os.environ, **(env or {})})


def snapshot(folder: pathlib.Path) -> dict:
  """Every file under ``folder`` with its size and modification time (None: no folder)."""
  if not folder.exists():
    return None
  return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
          for p in sorted(folder.rglob("*"))}


def assert_clean_failure(out: subprocess.CompletedProcess, *expected: str) -> None:
  """Non-zero exit; stderr is one ``error:`` message (which names ``expected``), no traceback."""
  assert out.returncode != 0, out.stdout[-2000:]
  assert "Traceback" not in out.stderr, out.stderr[-3000:]
  assert out.stderr.count("error:") == 1, out.stderr
  assert len(out.stderr.splitlines()) <= 25, out.stderr
  for text in expected:
    assert text in out.stderr, out.stderr


# (script, arguments, texts the message must contain). The workdir is passed by the test.
CONFIG_CASES = {
    "negative_epochs": ("search", ["--config.epochs=-1"], ["epochs must be >= 1"]),
    "zero_batch": ("search", ["--config.batch_size=0"], ["batch_size must be >= 1"]),
    "unknown_field": ("search", ["--config.foo=1"], ["no field 'foo'", "architect"]),
    "misspelled_nested_field": ("search", ["--config.network.chanels=4"],
                                ["--config.network.channels"]),
    "field_of_another_space": ("search", ["--config=experiments/configs/nb201_digits.py",
                                          "--config.network.layers=3"], ["cells_per_stage"]),
    "unknown_architect": ("search", ["--config.architect=bogus"],
                          ["unknown architect 'bogus'", "second_order"]),
    "not_a_number": ("search", ["--config.epochs=abc"], ["--config.epochs=abc"]),
    "nan_learning_rate": ("search", ["--config.weights.lr=nan"], ["weights.lr must be finite"]),
    "fraction_above_one": ("search", ["--config.data.subset_fraction=1.5"],
                           ["data.subset_fraction must be <= 1"]),
    "unknown_space": ("search", ["--config.space=nb2O1"], ["did you mean 'nb201'"]),
    "unknown_op": ("search", ["--config.ops=('none','sep_conv_7x7')"],
                   ["sep_conv_7x7", "--config.ops_module"]),
    "unimportable_ops_module": ("search", ["--config.ops_module=no_such_module_here"],
                                ["no_such_module_here"]),
    "unknown_dataset": ("retrain", ["--config.data.name=cifar11"], ["did you mean 'cifar10'"]),
    "missing_data": ("search", ["--config.data.name=cifar10", "--config.data.data_dir=/nonexistent"],
                     ["cifar10", "/nonexistent", "--config.data.name=digits"]),
    "malformed_genotype": ("retrain", ["--config.genotype=Genotype(normal=[('sep_conv_3x3', 0)"],
                           ["malformed DARTS genotype"]),
    "missing_genotype_file": ("retrain", ["--config.genotype=/nonexistent/genotype.json"],
                              ["/nonexistent/genotype.json"]),
    "missing_config_file": ("search", ["--config=experiments/configs/no_such_config.py"],
                            ["no_such_config.py"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_fails_cleanly_before_any_work(tmp_path, case):
  script, args, expected = CONFIG_CASES[case]
  workdir = tmp_path / "run"
  out = run(script, *args, f"--workdir={workdir}")
  assert_clean_failure(out, *expected)
  assert not workdir.exists(), "a failed start must not create the workdir"


def test_a_workdir_file_in_the_way_fails_cleanly(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a folder")
  out = run("search", "--config.epochs=1", f"--workdir={blocker / 'run'}")
  assert_clean_failure(out, "cannot write to --workdir")
  assert blocker.read_text() == "not a folder"


def test_traceback_on_request(tmp_path):
  out = run("search", "--config.epochs=-1", f"--workdir={tmp_path / 'run'}",
            env={"DARTS_JAX_TRACEBACK": "1"})
  assert out.returncode != 0 and "Traceback" in out.stderr and "ConfigError" in out.stderr


@pytest.fixture(scope="module")
def finished_retrain(tmp_path_factory):
  """A workdir holding a finished short retraining run."""
  folder = tmp_path_factory.mktemp("retrain")
  workdir = folder / "run"
  out = run("retrain", *QUICK_RETRAIN, f"--workdir={workdir}", f"--compilation_cache={folder}/jax")
  assert out.returncode == 0, out.stderr[-3000:]
  return workdir, out


def test_compiled_programs_are_kept_in_the_compilation_cache(finished_retrain):
  workdir, out = finished_retrain
  assert "compiled the training step in" in out.stdout
  assert any((workdir.parent / "jax").iterdir()), "the training step should be in the cache"


def test_rerunning_a_finished_run_prints_its_result_and_changes_nothing(finished_retrain):
  workdir, first = finished_retrain
  before = snapshot(workdir)
  out = run("retrain", *QUICK_RETRAIN, f"--workdir={workdir}")
  assert out.returncode == 0, out.stderr[-3000:]
  assert "already finished" in out.stdout
  assert out.stdout.splitlines()[-1] == first.stdout.splitlines()[-1]  # the same final result
  assert {k: v for k, v in snapshot(workdir).items() if "tb" not in k} == {
      k: v for k, v in before.items() if "tb" not in k}


def test_a_workdir_of_another_config_is_refused_and_kept(finished_retrain):
  workdir, _ = finished_retrain
  before = snapshot(workdir)
  out = run("retrain", *QUICK_RETRAIN, "--config.lr=0.5", f"--workdir={workdir}")
  assert_clean_failure(out, "holds a retraining run of another config", "lr: 0.05 -> 0.5",
                       "new --workdir")
  assert snapshot(workdir) == before


def test_a_corrupt_checkpoint_is_a_clear_error(finished_retrain, tmp_path):
  workdir = tmp_path / "copy"
  subprocess.run(["cp", "-r", str(finished_retrain[0]), str(workdir)], check=True)
  (workdir / "summary.json").unlink(missing_ok=True)
  for path in (workdir / "checkpoints").rglob("*"):
    if path.is_file() and "state" in str(path):
      path.write_bytes(b"garbage")
  before = snapshot(workdir)
  out = run("retrain", *QUICK_RETRAIN, f"--workdir={workdir}")
  assert_clean_failure(out, "cannot restore checkpoint", "checkpoints")
  assert snapshot(workdir) == before


def test_a_diverging_run_stops_with_one_message(tmp_path):
  workdir = tmp_path / "run"
  out = run("retrain", *QUICK_RETRAIN, "--config.lr=1e30", "--config.clip_norm=1e30",
            f"--workdir={workdir}")
  assert_clean_failure(out, "non-finite loss", "Lower --config.lr")
  assert json.loads((workdir / workdir_lib.CONFIG_FILE).read_text())["lr"] == 1e30
