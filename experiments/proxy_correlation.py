"""How much does a proxy tell us? python -m experiments.proxy_correlation.

  python -m experiments.proxy_correlation                    # NB201 tables: 12 vs 200 epochs
  python -m experiments.proxy_correlation --mode=training --cells=10   # proxy training on digits
"""

import os

from absl import flags, logging

from darts_jax import tabular
from darts_jax.strategies import ProxyEvaluator, benchmark
from darts_jax.tabular import correlation
from experiments import cli

_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "proxy_nb201.py")
_MODE = flags.DEFINE_enum("mode", "tables", ["tables", "training"],
                          "tables: the NB201 12-epoch vs 200-epoch columns; training: the proxy "
                          "evaluator vs longer training on a local dataset, for sampled cells.")
_PROXY = cli.define_config("proxy_config", _CONFIG, "Proxy training (mode=training).")
_REFERENCE = cli.define_config("reference_config", _CONFIG + ":long",
                               "Longer training it is checked against.")
_CELLS = flags.DEFINE_integer("cells", 10, "NB201 cells sampled uniformly (mode=training).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the cell sample.")
# allow_override: the NB201 scripts share this flag and may be imported into one process (tests).
_TABLES_DIR = flags.DEFINE_string("tables_dir", None,
                                  f"NAS-Bench-201 tables folder; defaults to ${tabular.ENV_VAR}.",
                                  allow_override=True)


def main(argv):
  del argv
  if _MODE.value == "tables":
    print(correlation.markdown(correlation.proxy_fidelity(tabular.load(_TABLES_DIR.value))))
    return
  logging.set_verbosity(logging.WARNING)
  encoding = benchmark.proxy_encoding(_PROXY.value)
  fidelity = benchmark.training_fidelity(
      encoding, ProxyEvaluator(_PROXY.value, encoding), ProxyEvaluator(_REFERENCE.value, encoding),
      cells=_CELLS.value, seed=_SEED.value)
  print(benchmark.fidelity_markdown(fidelity, benchmark.proxy_label(_PROXY.value),
                                    benchmark.proxy_label(_REFERENCE.value)))


if __name__ == "__main__":
  cli.run(main)
