"""Pictures of a run: cells, mixing weights over the epochs, loss and accuracy curves.

  python -m experiments.plot --workdir=runs/search      # a search, a retraining or a whole run
  python -m experiments.plot --workdir=runs/q --engine=matplotlib

Writes PNG and SVG into <workdir>/plots; cells are drawn by Graphviz's dot where it is installed.
"""

import sys

from absl import app, flags

from darts_jax import plotting

_WORKDIR = flags.DEFINE_string("workdir", None, "A search, retrain or whole-run workdir.",
                               required=True)
_ENGINE = flags.DEFINE_enum("engine", "auto", ["auto", "dot", "matplotlib"],
                            "Cell drawings: dot where installed (auto), or force one.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    paths = plotting.plot_run(_WORKDIR.value, engine=_ENGINE.value)
  except plotting.PlotError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  print("\n".join(paths))


if __name__ == "__main__":
  app.run(main)
