"""Shows what a data config yields, per split, and which source it came from.

  python -m experiments.inspect_data --config.data.name=cifar10 --config.data.data_dir=DIR
  python -m experiments.inspect_data --config=experiments/configs/fashion_mnist.py
  python -m experiments.inspect_data --config=experiments/configs/default.py   # embedded digits

Prints one line per split (examples, image shape and dtype, label histogram, pixel mean/std), then
the same content as one JSON object on the last line.
"""

import json
import os

from absl import app

from darts_jax import config_schema, data
from experiments import cli

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "darts_cifar10.py")
_CONFIG = cli.define_config("config", _DEFAULT_CONFIG,
                            "Experiment configuration file.")


def inspect(config) -> dict:
  """Loads ``config.data`` as a search or retraining run would and prints its description."""
  config_schema.check(config.data, data.config_schema(), what="data config")
  description = data.describe(data.load_from_config(config.data, seed=config.seed))
  print(f"{description['name']} from {description['source']} "
        f"({description['num_classes']} classes)")
  for name, split in description["splits"].items():
    print(f"  {name}: {split['examples']} examples of {tuple(split['image_shape'])} "
          f"{split['dtype']}, pixel mean {split['pixel_mean']} std {split['pixel_std']}, "
          f"labels {split['label_histogram']}")
  print(json.dumps(description))
  return description


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  inspect(_CONFIG.value)


if __name__ == "__main__":
  cli.run(main)
