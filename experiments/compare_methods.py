"""DARTS-family methods compared on NAS-Bench-201 (darts_jax/comparison.py): each searches the NB201
space on a local dataset at one proxy budget, its cells are looked up in the NB201 tables.

  python -m experiments.compare_methods                      # every method, 3 seeds
  python -m experiments.compare_methods --methods=darts_v1,gdas,pc_darts,drnas --seeds=3
  python -m experiments.compare_methods --methods=darts_v1 --seeds=1 --quick --dataset=digits

Default budget on Fashion-MNIST: C=8, one cell per stage, 16x16, 3,072 + 3,072 images, 6 epochs.
"""

import os

from absl import app, flags, logging

from darts_jax import comparison, tabular
from experiments import cli
from experiments.configs import fashion_mnist, nb201_digits

_CONFIGS = os.path.join(os.path.dirname(__file__), "configs")
_METHODS = flags.DEFINE_list(
    "methods", ["darts_v1", "darts_v2", "gdas", "snas", "pc_darts", "drnas", "fair_darts",
                "beta_darts", "darts_minus", "sdarts_rs", "sdarts_adv", "pdarts"],
    "Methods: darts_v1, darts_v2 (DARTS first/second order) and every "
    "experiments/configs/methods/<name>.py; one without a config is reported unavailable.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Searches per method (seeds 0..N-1).")
_DATASET = flags.DEFINE_enum("dataset", "auto", ["auto", "fashion_mnist", "digits"],
                             "Search data; auto: Fashion-MNIST where /usr/share/datasets/"
                             "fashion-mnist is installed (apt-get install dataset-fashion-mnist), "
                             "else the embedded digits.")
_QUICK = flags.DEFINE_bool("quick", False, "A minutes-long smoke run: tiny supernet, 1 epoch.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/compare_methods",
                               "Runs go to <workdir>/<method>/seed_<n>; finished ones are reused.")
# allow_override: the NB201 scripts share this flag and may be imported into one process (tests).
_TABLES_DIR = flags.DEFINE_string("tables_dir", None,
                                  f"NAS-Bench-201 tables folder; defaults to ${tabular.ENV_VAR}.",
                                  allow_override=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  dataset = comparison.default_dataset() if _DATASET.value == "auto" else _DATASET.value
  data = (fashion_mnist if dataset == "fashion_mnist" else nb201_digits).get_config().data
  try:
    result = comparison.compare(
        _METHODS.value, _SEEDS.value, workdir=_WORKDIR.value, data=data,
        budget_=comparison.budget(dataset, _QUICK.value),
        configs_dir=os.path.join(_CONFIGS, "methods"), darts_config=nb201_digits.get_config(),
        tables_dir=_TABLES_DIR.value, report=lambda line: print(line, flush=True))
  except tabular.TablesNotFoundError as e:
    cli.fail(str(e))
  print(comparison.markdown(result))
  failed = [r.method for r in result.results if r.status.startswith("failed")]
  if failed:
    cli.fail(f"the searches of {', '.join(failed)} failed (their rows say why)")


if __name__ == "__main__":
  cli.run(main)
