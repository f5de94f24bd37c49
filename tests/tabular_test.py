"""NAS-Bench-201 table adapter, rank correlations and the proxy-correlation script."""

import itertools
import time

import numpy as np
import pytest

from darts_jax import genotypes, tabular
from darts_jax.tabular import correlation
from experiments import proxy_correlation

ALL_SKIP = ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
            "skip_connect~2|")
BEST_C10 = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
            "nor_conv_1x1~2|")


@pytest.fixture(scope="module")
def tables(tables_dir):
  return tabular.load(tables_dir)


def test_all_skip_connect_cell(tables):
  got = [tables.query(ALL_SKIP, "test_accuracy", d, 200) for d in tabular.DATASETS]
  np.testing.assert_allclose(got, [54.30, 15.61, 16.32], atol=0.005)


def test_optimum(tables):
  best = [tables.column("test_accuracy", d, 200).max() for d in tabular.DATASETS]
  np.testing.assert_allclose(best, [94.37, 73.51, 47.31], atol=0.005)
  assert tables.query(BEST_C10, "test_accuracy", "cifar10", 200) == pytest.approx(94.373, abs=1e-3)


def test_query_accepts_genotypes_and_module_function(tables_dir, tables):
  genotype = genotypes.parse_nb201(BEST_C10)
  assert (tabular.query(genotype, "test_accuracy", "cifar10", 200, tables_dir=tables_dir)
          == tables.query(BEST_C10, "test_accuracy", "cifar10", 200))


def test_every_cell_and_column(tables):
  assert len(tables.archs) == 15625 and len(set(tables.archs)) == 15625
  for key, values in tables.accuracy.items():
    assert values.shape == (15625,) and np.all((values >= 0) & (values <= 100)), key
  assert len(tables.devices) == 27
  assert all(np.all(v > 0) for v in tables.latency_ms.values())


def test_twelve_epoch_and_latency_rows_follow_the_architecture(tables):
  # Row 1 of both raw files is the same cell; values read from the gzip files by hand.
  arch = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
          "skip_connect~2|")
  assert tables.query(arch, "valid_accuracy", "cifar10", 12) == pytest.approx(82.834, abs=1e-3)
  assert tables.query(arch, "test_accuracy", "cifar100", 12) == pytest.approx(58.26, abs=1e-3)
  assert tables.query(arch, "latency", device="1080ti_1") == pytest.approx(12.9003, abs=1e-4)


def test_loaded_once(tables_dir):
  tabular.load(tables_dir)
  start = time.perf_counter()
  assert tabular.load(tables_dir) is tabular.load(tables_dir)
  assert time.perf_counter() - start < 0.05


@pytest.mark.parametrize("arch, error", [
    ("|nor_conv_3x3~0|+|bogus~0|skip_connect~1|+|none~0|none~1|none~2|", genotypes.GenotypeError),
    ("|nor_conv_3x3~0|+|none~0|", genotypes.GenotypeError),
    ("not a cell", genotypes.GenotypeError),
])
def test_unknown_architectures_raise(tables, arch, error):
  with pytest.raises(error):
    tables.query(arch, "test_accuracy", "cifar10", 200)


@pytest.mark.parametrize("metric, dataset, epochs, device, words", [
    ("test_accuracy", "cifar10-valid", 200, None, "ImageNet16-120"),
    ("test_accuracy", "CIFAR10", 200, None, "cifar100"),
    ("valid_accuracy", "cifar10", 200, None, "[12]"),
    ("train_loss", "cifar10", 200, None, "valid_accuracy"),
    ("latency", None, None, "tpu_v9", "titanxp_1"),
    ("latency", "cifar10", None, "titanxp_1", "per device"),
])
def test_unknown_choices_raise_naming_valid_ones(tables, metric, dataset, epochs, device, words):
  with pytest.raises(tabular.QueryError, match=words.replace("[", r"\[").replace("]", r"\]")):
    tables.query(ALL_SKIP, metric, dataset, epochs, device=device)


def test_missing_files_name_the_file_and_the_fix(tmp_path, monkeypatch):
  monkeypatch.delenv(tabular.ENV_VAR, raising=False)
  with pytest.raises(tabular.TablesNotFoundError, match=tabular.ENV_VAR):
    tabular.load()
  with pytest.raises(tabular.TablesNotFoundError,
                     match="nb201_test_acc_200ep.csv.gz.*DARTS_JAX_TABLES"):
    tabular.load(tmp_path)


def test_env_var_names_the_folder(tables_dir, monkeypatch):
  monkeypatch.setenv(tabular.ENV_VAR, tables_dir)
  assert tabular.query(ALL_SKIP, "test_accuracy", "cifar10", 200) == pytest.approx(54.30, abs=0.005)


def _brute_force_tau(x, y):
  concordant = discordant = x_ties = y_ties = 0
  for i, j in itertools.combinations(range(len(x)), 2):
    s = np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    concordant += s > 0
    discordant += s < 0
    x_ties += x[i] == x[j]
    y_ties += y[i] == y[j]
  pairs = len(x) * (len(x) - 1) / 2
  return (concordant - discordant) / np.sqrt((pairs - x_ties) * (pairs - y_ties))


@pytest.mark.parametrize("n", [2, 7, 50, 200])
def test_rank_correlations_match_definitions(n):
  rng = np.random.default_rng(n)
  x = rng.integers(0, 6, n).astype(float)
  y = rng.integers(0, 4, n) + 0.5 * x
  assert correlation.kendall_tau(x, y) == pytest.approx(_brute_force_tau(x, y))
  ranks = lambda v: np.array([np.mean(np.flatnonzero(np.sort(v) == e)) + 1 for e in v])
  assert correlation.spearman(x, y) == pytest.approx(np.corrcoef(ranks(x), ranks(y))[0, 1])
  assert correlation.kendall_tau(x, -x) == pytest.approx(-1.0)


def test_proxy_correlation_script(tables_dir, capsys):
  with pytest.raises(SystemExit):
    proxy_correlation.cli.run(proxy_correlation.main,
                              argv=["proxy_correlation", f"--tables_dir={tables_dir}"])
  out = capsys.readouterr().out
  assert out.count("| 12-epoch") == 6
  # 12-epoch CIFAR-10 validation accuracy vs the 200-epoch test accuracy, all cells.
  assert "| cifar10 | 12-epoch valid_accuracy | 0.594 | 0.772 |" in out
