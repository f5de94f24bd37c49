"""Reproduces NAS-Bench-201's rows: python -m experiments.reproduce_nb201 --seeds=100.

  python -m experiments.reproduce_nb201 --methods=darts_v1,darts_v2 --seeds=1   # searches on digits
"""

import os

from absl import app, flags, logging

from darts_jax import tabular
from darts_jax.strategies import benchmark
from experiments import cli

_METHODS = flags.DEFINE_list("methods", ["random", "rea", "reinforce", "bo"],
                             "Table methods random, rea, reinforce, bo; supernet methods darts_v1, "
                             "darts_v2 (first/second-order DARTS on --search_config's data).")
_SEEDS = flags.DEFINE_integer("seeds", 100, "Independent runs per method (seeds 0..N-1).")
_BUDGET = flags.DEFINE_integer("budget", benchmark.DEFAULT_BUDGET, "Table queries per run.")
_SEARCH_CONFIG = cli.define_config(
    "search_config", os.path.join(os.path.dirname(__file__), "configs", "nb201_digits.py"),
    "NB201-space search config of the supernet methods (its architect and seed are set per run).")
_WORKDIR = flags.DEFINE_string("search_workdir", None,
                               "Supernet runs go to <dir>/<method>/seed_N (resumed when there); "
                               "default: a temporary folder.")
# allow_override: the NB201 scripts share this flag and may be imported into one process (tests).
_TABLES_DIR = flags.DEFINE_string("tables_dir", None,
                                  f"NAS-Bench-201 tables folder; defaults to ${tabular.ENV_VAR}.",
                                  allow_override=True)


def main(argv):
  del argv
  try:
    benchmark.check_methods(_METHODS.value)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  logging.set_verbosity(logging.WARNING)
  results = benchmark.reproduce(_METHODS.value, _SEEDS.value, _BUDGET.value, _TABLES_DIR.value,
                                _SEARCH_CONFIG.value, _WORKDIR.value)
  print(benchmark.markdown(results, _BUDGET.value, tabular.load(_TABLES_DIR.value)))


if __name__ == "__main__":
  cli.run(main)
