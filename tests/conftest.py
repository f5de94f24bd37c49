"""Shared test helpers: files in ../shared/data beside the checkout, and the NB201 tables folder."""

import os
import pathlib

import pytest

from darts_jax import tabular

SHARED_DATA = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def data_folder() -> pathlib.Path:
  """Where tests look for benchmark data files: ``$DARTS_JAX_TABLES``, else ``../shared/data``."""
  return pathlib.Path(os.environ.get(tabular.ENV_VAR) or SHARED_DATA)


def shared_file(name: str) -> pathlib.Path:
  """``<data folder>/<name>``; skips the calling test, naming the file and the variable that
  names the folder, when it is absent."""
  path = data_folder() / name
  if not path.is_file():
    pytest.skip(f"benchmark data file {name} not found at {path}; set {tabular.ENV_VAR} to the "
                "folder that holds it")
  return path


@pytest.fixture(scope="session")
def tables_dir() -> str:
  """``$DARTS_JAX_TABLES`` or ``../shared/data``; skips, naming the file, when a table is absent."""
  path = data_folder()
  for name in tabular.FILES:
    if not (path / name).is_file():
      pytest.skip(f"NAS-Bench-201 table {name} not found in {path}; set {tabular.ENV_VAR} to the "
                  "folder that holds it")
  return str(path)


def pytest_configure(config):
  """A persistent XLA compilation cache shared by the tests (and their subprocesses): tests that
  build the same program compile it once."""
  import jax

  # Tests run tiny steps once: compile them without LLVM optimization (compiling.QUICK_COMPILE),
  # in this process and in the experiment scripts tests start.
  os.environ.setdefault("DARTS_JAX_QUICK_COMPILE", "1")
  cache = pathlib.Path(config.rootpath) / ".pytest_cache" / "jax"
  os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache))
  jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


class Interrupted(Exception):
  """Raised by ``interrupt_after_first_epoch`` to cut a run short, as a crash would."""


def interrupt_after_first_epoch(line: str) -> None:
  """A ``report`` callback for run loops: stops the run once epoch 1's line (after its checkpoint)."""
  if line.startswith("epoch 1/"):
    raise Interrupted
