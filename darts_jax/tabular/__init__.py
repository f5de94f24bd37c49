"""Benchmark-table adapters: NAS-Bench-201 accuracies and latencies by architecture string."""

from darts_jax.tabular.nb201 import (DATASETS, ENV_VAR, FILES, METRICS, NB201Tables, QueryError,
                                     TablesNotFoundError, load, query, resolve_dir)

__all__ = ["DATASETS", "ENV_VAR", "FILES", "METRICS", "NB201Tables", "QueryError",
           "TablesNotFoundError", "load", "query", "resolve_dir"]
