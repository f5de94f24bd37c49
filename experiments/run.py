"""The whole pipeline from the command line: search, discretize, retrain, summary.

  python -m experiments.run                                     # the default (embedded digits)
  python -m experiments.run --config=experiments/configs/pipeline.py:quick --workdir=runs/q
  python -m experiments.run --config.search.architect=second_order --config.retrain.epochs=20
"""

import json
import os

from absl import app, flags, logging

from darts_jax import pipeline
from experiments import cli

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "pipeline.py")
_CONFIG = cli.define_config("config", _DEFAULT_CONFIG, "Pipeline configuration file.",
                            lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "runs/main",
                               "Output folder: search/ and retrain/ runs, summary.json. Existing "
                               "checkpoints there are resumed.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)  # keep checkpointing chatter out of the epoch lines
  summary = pipeline.run(_CONFIG.value, _WORKDIR.value)
  print(f"genotype: {summary['genotype']}")
  print(f"weights: {summary['params']:,}  final test accuracy: {summary['final_test_acc']:.4f}  "
        f"wall time: {summary['wall_seconds']:.0f}s")
  print(json.dumps(summary))


if __name__ == "__main__":
  cli.run(main)
