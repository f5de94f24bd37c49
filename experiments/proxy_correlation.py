"""How much does the 12-epoch proxy tell us? python -m experiments.proxy_correlation."""

from absl import app, flags

from darts_jax import tabular
from darts_jax.tabular import correlation

# allow_override: the NB201 scripts share this flag and may be imported into one process (tests).
_TABLES_DIR = flags.DEFINE_string("tables_dir", None,
                                  f"NAS-Bench-201 tables folder; defaults to ${tabular.ENV_VAR}.",
                                  allow_override=True)


def main(argv):
  del argv
  print(correlation.markdown(correlation.proxy_fidelity(tabular.load(_TABLES_DIR.value))))


if __name__ == "__main__":
  app.run(main)
