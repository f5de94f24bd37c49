"""Retraining a genotype from scratch from the command line.

  python -m experiments.retrain --config.genotype=DARTS_V2                 # digits, a small network
  python -m experiments.retrain --config.genotype=runs/search/genotype.json --config.epochs=20
  python -m experiments.retrain --config=experiments/configs/retrain_cifar10.py --config.data.data_dir=DIR
"""

import os

from absl import app, flags, logging

from darts_jax import retrain
from experiments import cli

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "retrain.py")
_CONFIG = cli.define_config("config", _DEFAULT_CONFIG, "Retraining configuration.",
                            lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "runs/retrain",
                               "Output folder: checkpoints, metrics.jsonl. An existing checkpoint "
                               "there is resumed.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  result = retrain.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  print(f"weights: {result.params:,}  final-epoch test accuracy: {result.final_test_acc:.4f}")
  if result.selected:
    print(f"selected on the held-out val split: epoch {result.selected['epoch'] + 1}, val accuracy "
          f"{result.selected['val_acc']:.4f}, test accuracy there {result.selected['test_acc']:.4f}")


if __name__ == "__main__":
  cli.run(main)
