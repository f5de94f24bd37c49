"""A non-gradient search over NB201 cells, each query scored by proxy training on a local dataset.

  python -m experiments.search_strategies --strategy=rea --budget=20              # digits, 2 epochs
  python -m experiments.search_strategies --config=experiments/configs/proxy_nb201.py:quick --budget=3
"""

import os

from absl import app, flags, logging

from darts_jax import strategies, tabular
from darts_jax.strategies import benchmark
from experiments import cli

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "proxy_nb201.py")
_CONFIG = cli.define_config("config", _DEFAULT_CONFIG,
                            "Retraining config with the proxy knobs (epochs, data).",
                            lock_config=True)
_STRATEGY = flags.DEFINE_enum("strategy", "rea", sorted(strategies.STRATEGIES), "Search strategy.")
_BUDGET = flags.DEFINE_integer("budget", 10, "Proxy trainings (queries), repeats included.")
_SEED = flags.DEFINE_integer("seed", 0, "Strategy seed (training uses config.seed).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Keeps each query's run in <workdir>/query_NNNN; "
                               "must not hold earlier queries. Default: temporary folders.")
# allow_override: the NB201 scripts share this flag and may be imported into one process (tests).
_TABLES_DIR = flags.DEFINE_string("tables_dir", None,
                                  f"NAS-Bench-201 tables folder; defaults to ${tabular.ENV_VAR}.",
                                  allow_override=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  result = benchmark.proxy_search(_STRATEGY.value, config, budget=_BUDGET.value, seed=_SEED.value,
                                  workdir=_WORKDIR.value, report=print)
  print(f"{_STRATEGY.value}: {_BUDGET.value} proxy trainings of {benchmark.proxy_label(config)} "
        f"in {result.seconds:.0f}s")
  print(f"best cell: {result.genotype}")
  print(f"proxy score (validation accuracy): {result.score:.4f}")
  finals = benchmark.final_accuracies(result.genotype, _TABLES_DIR.value)
  if finals is None:
    print(f"NAS-Bench-201 tables not found (set ${tabular.ENV_VAR} or --tables_dir) for its accuracy")
  else:
    print("NAS-Bench-201 200-epoch test accuracy: "
          + ", ".join(f"{dataset} {acc:.2f}" for dataset, acc in finals.items()))


if __name__ == "__main__":
  cli.run(main)
