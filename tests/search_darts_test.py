"""DARTS-space searches end to end (experiments/configs/darts_tiny.py): every architect finishes
with finite metrics, a valid genotype and softmax mixing weights; a killed run resumes bit-exactly.

Compile time dominates, so each search step compiles with ``compiling.QUICK_COMPILE`` (LLVM without
optimization), and each architect's uninterrupted run happens once per test session: the first test
that needs it runs it into a folder all xdist workers share, the others wait for it and read it."""

import contextlib
import fcntl
import json
import math
import os
import shutil

import numpy as np
import pytest
from conftest import Interrupted, interrupt_after_first_epoch

from darts_jax import compiling, data, genotypes, optim, search, spaces
from experiments.configs import darts_tiny

ARCHITECTS = ("first_order", "second_order", "second_order_fd")


@pytest.fixture(scope="module", autouse=True)
def quick_compile():
  """The search steps compile with XLA:CPU's quick options (tests/conftest.py turns them on for the
  suite: ~1.7x faster compiles, tiny inputs run as fast); every run here compiles the same way."""
  assert os.environ.get(compiling.QUICK_COMPILE_ENV) == "1"
  yield


@contextlib.contextmanager
def _locked(path):
  with open(path, "w") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
  """``searched(architect) -> (result, workdir, initial alphas)`` of one uninterrupted tiny search,
  run once per session: xdist workers share it through the session's temporary root. The result is
  read back from the run's files; ``alphas.npz`` holds what ``search.run`` returned."""
  if os.environ.get("PYTEST_XDIST_WORKER"):
    root = tmp_path_factory.getbasetemp().parent / "search_darts"
    root.mkdir(exist_ok=True)
  else:
    root = tmp_path_factory.mktemp("search_darts")

  def get(architect):
    workdir = root / architect
    with _locked(root / f"{architect}.lock"):
      if not (workdir / "alphas.npz").exists():
        shutil.rmtree(workdir, ignore_errors=True)  # a failed attempt's: never resume from it
        config = darts_tiny.get_config(architect)
        dataset = data.load_from_config(config.data, seed=config.seed)
        _, _, state = search.init_state(config, dataset, optim.epoch_cosine(0.1, 0.0, 1, 1))
        initial = search.alphas_of(state)
        result = search.run(config, str(workdir), report=lambda _: None)
        np.savez(workdir / "alphas.npz", **{f"final/{k}": v for k, v in result.alphas.items()},
                 **{f"initial/{k}": v for k, v in initial.items()},
                 returned_genotype=str(result.genotype))
    with np.load(workdir / "alphas.npz") as saved:
      alphas = {group: {k.split("/")[1]: saved[k] for k in saved.files if k.startswith(group)}
                for group in ("final", "initial")}
      assert str(saved["returned_genotype"]) == str(genotypes.load(workdir / "genotype.json"))
    result = search.SearchResult(genotypes.load(workdir / "genotype.json"), alphas["final"],
                                 _records(workdir))
    return result, workdir, alphas["initial"]
  return get


def _records(workdir):
  with open(workdir / "metrics.jsonl") as f:
    return [json.loads(line) for line in f]


def _without_timings(records):
  return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in records]


def _softmax(alphas):
  e = np.exp(alphas - alphas.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("architect", ARCHITECTS)
def test_search_finishes_with_finite_metrics_and_a_valid_genotype(searched, architect):
  result, _, initial = searched(architect)
  records = result.history
  assert [r["epoch"] for r in records] == [0, 1]
  for record in records:
    numbers = {k: v for k, v in record.items() if isinstance(v, (int, float))}
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"} <= set(numbers)
    assert all(math.isfinite(v) for v in numbers.values()), record
    assert 0.0 < record["train_loss"] < 10.0 and 0.0 <= record["val_acc"] <= 1.0, record

  # Each cell type's recorded mixing weights: one softmax row per edge, at the end those of the
  # final alphas, which the search moved away from their initialization.
  for record in records:
    assert sorted(record["alphas"]) == ["normal", "reduce"]
    for label, rows in record["alphas"].items():
      rows = np.asarray(rows)
      assert rows.shape == (14, len(darts_tiny.OPS))
      assert np.all(np.isfinite(rows)) and np.all(rows >= 0)
      np.testing.assert_allclose(rows.sum(axis=-1), 1.0, atol=1e-3)
  for label, alphas in result.alphas.items():
    np.testing.assert_allclose(records[-1]["alphas"][label], _softmax(alphas), atol=1e-4)
    # 4 Adam steps move an alpha by up to ~4 lr; a search that skipped alpha steps would not.
    assert np.abs(alphas - initial[label]).max() > 2 * darts_tiny.get_config().alphas.lr, label

  genotype = result.genotype
  assert str(genotype) == records[-1]["genotype"]
  spaces.get("darts_cnn").validate(genotype)
  space = spaces.get("darts_cnn", op_names=darts_tiny.OPS)
  space.validate(genotype)
  for cell in (genotype.normal, genotype.reduce):
    assert len(cell) == 8
    for k, (op, source) in enumerate(cell):
      assert op in darts_tiny.OPS and op != "none"
      assert 0 <= source < k // 2 + 2
    for node in range(4):
      assert cell[2 * node][1] != cell[2 * node + 1][1]  # two distinct inputs per node
  assert genotype.normal_concat == genotype.reduce_concat == (2, 3, 4, 5)
  assert genotype == space.discretize({k: _softmax(a) for k, a in result.alphas.items()})


def test_architects_search_differently(searched):
  alphas = {a: searched(a)[0].alphas for a in ARCHITECTS}
  for i, a in enumerate(ARCHITECTS):
    for b in ARCHITECTS[i + 1:]:
      for label in ("normal", "reduce"):
        assert not np.array_equal(alphas[a][label], alphas[b][label]), (a, b, label)


def test_killed_search_resumes_bit_exactly(searched, tmp_path):
  """First order: a resume must restore weights, BatchNorm statistics, both optimizer states and
  the data iterators' positions, or epoch 2 differs."""
  uninterrupted, full_dir, _ = searched("first_order")
  config = darts_tiny.get_config("first_order")
  with pytest.raises(Interrupted):
    search.run(config, str(tmp_path), report=interrupt_after_first_epoch)
  assert [r["epoch"] for r in _records(tmp_path)] == [0]
  lines = []
  resumed = search.run(config, str(tmp_path), report=lines.append)
  assert any(line.startswith("resumed from") for line in lines), lines
  assert not any(line.startswith("epoch 1/") for line in lines), lines

  assert resumed.genotype == uninterrupted.genotype
  assert genotypes.load(tmp_path / "genotype.json") == uninterrupted.genotype
  for label in uninterrupted.alphas:
    np.testing.assert_array_equal(resumed.alphas[label], uninterrupted.alphas[label])
  assert _without_timings(resumed.history) == _without_timings(uninterrupted.history)
  assert _without_timings(_records(tmp_path)) == _without_timings(_records(full_dir))
