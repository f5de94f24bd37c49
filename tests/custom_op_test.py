"""The README's custom-op path from the command line: register an op in a module of one's own,
search with it (``--config.ops_module``), retrain the result (``genotype.json`` names the module)."""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

MY_OPS = '''
from darts_jax import ops


@ops.register("nor_conv_5x5")
def nor_conv_5x5(channels, stride, *, affine, rngs):
  return ops.ReLUConvBN(channels, channels, 5, stride, 2, affine=affine, rngs=rngs)
'''


def run(folder, script, *args):
  """An experiment script run from ``folder`` (where the user's module lives)."""
  return subprocess.run([sys.executable, "-m", f"experiments.{script}", *args], cwd=folder,
                        capture_output=True, text=True, timeout=600,
                        env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_custom_op_is_searched_with_and_its_genotype_retrained(tmp_path):
  (tmp_path / "my_ops.py").write_text(MY_OPS)
  searched = run(tmp_path, "search", f"--config={ROOT}/experiments/configs/nb201_digits.py:quick",
                 "--config.ops_module=my_ops", "--config.ops=('nor_conv_5x5',)",
                 "--config.diagnostics.hessian_iterations=0",
                 "--workdir=search")
  assert searched.returncode == 0, searched.stderr[-3000:]
  assert "epoch 1/1" in searched.stdout and "genotype: |" in searched.stdout
  stored = json.loads((tmp_path / "search" / "genotype.json").read_text())
  assert stored["ops_modules"] == ["my_ops"]
  assert "nor_conv_5x5~0" in stored["string"]

  # Retraining names neither the module nor the op set: genotype.json says what it needs.
  trained = run(tmp_path, "retrain", f"--config={ROOT}/experiments/configs/proxy_nb201.py:quick",
                "--config.genotype=search/genotype.json", "--config.epochs=1", "--workdir=retrain")
  assert trained.returncode == 0, trained.stderr[-3000:]
  assert "nor_conv_5x5" in trained.stdout and "test accuracy" in trained.stdout

  # Without the module, the error says which module the genotype needs.
  (tmp_path / "my_ops.py").unlink()
  missing = run(tmp_path, "retrain", f"--config={ROOT}/experiments/configs/proxy_nb201.py:quick",
                "--config.genotype=search/genotype.json", "--workdir=retrain2")
  assert missing.returncode != 0 and "Traceback" not in missing.stderr
  assert "my_ops" in missing.stderr
