"""Reproduces NAS-Bench-201's table-query rows: python -m experiments.reproduce_nb201 --seeds=100."""

from absl import app, flags

from darts_jax import tabular
from darts_jax.strategies import benchmark

_METHODS = flags.DEFINE_list("methods", ["random", "rea", "reinforce", "bo"],
                             "Search methods: random, rea, reinforce, bo.")
_SEEDS = flags.DEFINE_integer("seeds", 100, "Independent runs per method (seeds 0..N-1).")
_BUDGET = flags.DEFINE_integer("budget", benchmark.DEFAULT_BUDGET, "Table queries per run.")
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
  results = benchmark.reproduce(_METHODS.value, _SEEDS.value, _BUDGET.value, _TABLES_DIR.value)
  print(benchmark.markdown(results, _BUDGET.value, tabular.load(_TABLES_DIR.value)))


if __name__ == "__main__":
  app.run(main)
