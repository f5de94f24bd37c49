"""Architecture search from the command line.

  python -m experiments.search                                  # the default (embedded digits)
  python -m experiments.search --config=experiments/configs/default.py:quick --workdir=runs/q
  python -m experiments.search --config.architect=second_order --config.epochs=20
"""

import os

from absl import app, flags, logging

from darts_jax import search
from experiments import cli

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "default.py")
_CONFIG = cli.define_config("config", _DEFAULT_CONFIG, "Search configuration file.",
                            lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "runs/search",
                               "Output folder: checkpoints, metrics.jsonl, genotype.json. "
                               "An existing checkpoint there is resumed.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)  # keep checkpointing chatter out of the epoch lines
  result = search.run(_CONFIG.value, _WORKDIR.value)
  print(f"genotype: {result.genotype}")
  print(f"written to {os.path.join(_WORKDIR.value, 'genotype.json')}")


if __name__ == "__main__":
  cli.run(main)
