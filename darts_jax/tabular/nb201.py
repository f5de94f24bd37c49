"""NAS-Bench-201 tables: 200-epoch test, 12-epoch test/validation accuracy, latency; read once."""

from __future__ import annotations

import csv
import dataclasses
import functools
import gzip
import os

import numpy as np

from darts_jax import genotypes, spaces

ENV_VAR = "DARTS_JAX_TABLES"
ACC_200 = "nb201_test_acc_200ep.csv.gz"
ACC_12 = "nb201_acc_12ep.csv.gz"
LATENCY = "nb201_latency_ms.csv.gz"
FILES = (ACC_200, ACC_12, LATENCY)

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
METRICS = ("test_accuracy", "valid_accuracy", "latency")

# (metric, dataset, epochs) -> (file, column). The 12-epoch CIFAR-10 validation accuracy is the
# NAS-Bench-201 search signal (trained on the train half, scored on the held-out half: 'cifar10-valid').
_ACCURACY_COLUMNS = {
    ("test_accuracy", "cifar10", 200): (ACC_200, "CIFAR10TestAccuracy200Epochs"),
    ("test_accuracy", "cifar100", 200): (ACC_200, "CIFAR100TestAccuracy200Epochs"),
    ("test_accuracy", "ImageNet16-120", 200): (ACC_200, "ImageNetTestAccuracy200Epochs"),
    ("test_accuracy", "cifar10", 12): (ACC_12, "cifar10-test"),
    ("valid_accuracy", "cifar10", 12): (ACC_12, "cifar10-val"),
    ("test_accuracy", "cifar100", 12): (ACC_12, "cifar100-test"),
    ("valid_accuracy", "cifar100", 12): (ACC_12, "cifar100-val"),
    ("test_accuracy", "ImageNet16-120", 12): (ACC_12, "imagenet-test"),
    ("valid_accuracy", "ImageNet16-120", 12): (ACC_12, "imagenet-val"),
}
_ARCH_COLUMNS = {ACC_200: "ArchitectureString", ACC_12: "cellstr", LATENCY: "arch_str"}


@functools.cache
def _space():
  return spaces.get("nb201")


class TablesNotFoundError(FileNotFoundError):
  """The tables directory or one of its files is missing."""


class QueryError(ValueError):
  """A query for an architecture, metric, dataset, epoch count or device the tables do not hold."""


def resolve_dir(tables_dir: str | os.PathLike | None = None) -> str:
  """The tables directory: the argument if given, else ``$DARTS_JAX_TABLES``; checks every file."""
  tables_dir = tables_dir or os.environ.get(ENV_VAR)
  if not tables_dir:
    raise TablesNotFoundError(
        f"no NAS-Bench-201 tables directory given: pass tables_dir (--tables_dir) or set {ENV_VAR} "
        f"to the folder holding {', '.join(FILES)}")
  for name in FILES:
    path = os.path.join(tables_dir, name)
    if not os.path.isfile(path):
      raise TablesNotFoundError(
          f"NAS-Bench-201 table {name} not found at {path}; point tables_dir (--tables_dir) or "
          f"{ENV_VAR} at the folder that holds {', '.join(FILES)}")
  return os.path.abspath(tables_dir)


def _read_csv(path: str) -> tuple[list[str], list[list[str]]]:
  with gzip.open(path, "rt", newline="") as f:
    rows = list(csv.reader(f))
  return rows[0], rows[1:]


def _floats(rows: list[list[str]], column: int) -> np.ndarray:
  return np.array([float(row[column]) for row in rows])


@dataclasses.dataclass(frozen=True)
class NB201Tables:
  """All 15,625 cells in benchmark order: ``index`` maps canonical strings to rows."""

  archs: tuple[str, ...]
  index: dict[str, int]
  accuracy: dict[tuple[str, str, int], np.ndarray]
  latency_ms: dict[str, np.ndarray]

  @property
  def devices(self) -> list[str]:
    return sorted(self.latency_ms)

  def row(self, arch: str | genotypes.NB201Genotype) -> int:
    """Row of a genotype or NB201 string; malformed or foreign cells raise GenotypeError."""
    if isinstance(arch, str):
      arch = genotypes.parse_nb201(arch)
    key = str(_space().validate(arch))
    try:
      return self.index[key]
    except KeyError:
      raise QueryError(f"architecture {key} is not in the NAS-Bench-201 tables") from None

  def column(self, metric: str, dataset: str | None = None, epochs: int | None = None, *,
             device: str | None = None) -> np.ndarray:
    """All cells' values of one metric, in row order (for rank correlations and fast evaluators)."""
    if metric == "latency":
      if dataset is not None or epochs is not None:
        raise QueryError("latency is tabulated per device, not per dataset or epoch count; "
                         f"pass device= one of {self.devices}")
      if device not in self.latency_ms:
        raise QueryError(f"unknown device {device!r}; choose one of {self.devices}")
      return self.latency_ms[device]
    if metric not in METRICS:
      raise QueryError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    if dataset not in DATASETS:
      raise QueryError(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}")
    try:
      return self.accuracy[(metric, dataset, epochs)]
    except KeyError:
      held = sorted(e for m, d, e in self.accuracy if (m, d) == (metric, dataset))
      raise QueryError(f"{metric} on {dataset} is tabulated for epochs {held}, not {epochs!r}"
                       ) from None

  def query(self, arch, metric: str, dataset: str | None = None, epochs: int | None = None, *,
            device: str | None = None) -> float:
    """One cell's accuracy (%) or latency (ms)."""
    return float(self.column(metric, dataset, epochs, device=device)[self.row(arch)])


def _read_tables(tables_dir: str) -> NB201Tables:
  """Parses the three files; rows are matched by architecture string, not trusted by position."""
  header, rows = _read_csv(os.path.join(tables_dir, ACC_200))
  archs = tuple(row[header.index(_ARCH_COLUMNS[ACC_200])] for row in rows)
  index = {arch: i for i, arch in enumerate(archs)}
  parsed = {}
  for name in FILES:
    header, rows = (header, rows) if name == ACC_200 else _read_csv(os.path.join(tables_dir, name))
    arch_column = header.index(_ARCH_COLUMNS[name])
    order = np.array([index[row[arch_column]] for row in rows])
    if sorted(order.tolist()) != list(range(len(archs))):
      raise ValueError(f"{name} does not list the same {len(archs)} cells as {ACC_200}")
    parsed[name] = (header, rows, np.argsort(order))
  accuracy = {}
  for key, (name, column) in _ACCURACY_COLUMNS.items():
    header, rows, perm = parsed[name]
    accuracy[key] = _floats(rows, header.index(column))[perm]
  header, rows, perm = parsed[LATENCY]
  latency = {column.removesuffix("_ms"): _floats(rows, k)[perm]
             for k, column in enumerate(header) if column.endswith("_ms")}
  return NB201Tables(archs, index, accuracy, latency)


@functools.lru_cache(maxsize=4)
def _cached(tables_dir: str) -> NB201Tables:
  return _read_tables(tables_dir)


def load(tables_dir: str | os.PathLike | None = None) -> NB201Tables:
  """The tables from ``tables_dir`` or ``$DARTS_JAX_TABLES``, parsed once per directory."""
  return _cached(resolve_dir(tables_dir))


def query(arch, metric: str, dataset: str | None = None, epochs: int | None = None, *,
          device: str | None = None, tables_dir: str | os.PathLike | None = None) -> float:
  """``query('|nor_conv_3x3~0|+...', 'test_accuracy', 'cifar10', 200)``; latency takes ``device=``."""
  return load(tables_dir).query(arch, metric, dataset, epochs, device=device)
