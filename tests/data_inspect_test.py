"""Smoke test of ``python -m experiments.inspect_data``, in process."""

import json

import numpy as np

from darts_jax.data import cifar
from experiments import inspect_data
from experiments.configs import darts_cifar10, default


def test_inspect_digits_prints_each_split_then_json(capsys):
  description = inspect_data.inspect(default.get_config())
  lines = capsys.readouterr().out.strip().splitlines()
  assert json.loads(lines[-1]) == description
  assert description["source"].startswith("scikit-learn") and len(lines) == 5
  assert sum(s["examples"] for s in description["splits"].values()) == 1797


def test_inspect_a_cifar_binary_folder(tmp_path, capsys):
  folder, _, files = cifar.LAYOUTS["cifar10"]["binary"]
  (tmp_path / folder).mkdir()
  rng = np.random.default_rng(0)
  for file in files["train"] + files["test"]:
    (tmp_path / folder / file).write_bytes(rng.integers(0, 10, (4, 1 + 3072), np.uint8).tobytes())
  config = darts_cifar10.get_config()
  config.data.data_dir = str(tmp_path)
  description = inspect_data.inspect(config)
  assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == description
  assert folder in description["source"]
  assert [s["examples"] for s in description["splits"].values()] == [10, 10, 4]
  assert description["splits"]["test"]["image_shape"] == [32, 32, 3]
