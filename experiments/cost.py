"""Cost of an architecture on the running backend, or its space's per-op latency lookup table.

  python -m experiments.cost --config.genotype=DARTS_V2
  python -m experiments.cost --config.genotype=DARTS_V2 --config.setting=imagenet \
      --config.image_size=224 --config.num_classes=1000 --config.batch_sizes=1,32
  python -m experiments.cost --config.genotype='|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+...'
  python -m experiments.cost --config.space=nb201 --config.build_lut --config.lut=lut.json

The last line printed is the report as one JSON object (keys params, flops, macs, latency_ms, device).
"""

import json
import os

from absl import app

from darts_jax.cost import report
from experiments import cli

_CONFIG = cli.define_config(
    "config", os.path.join(os.path.dirname(__file__), "configs", "cost.py"), "Cost configuration.",
    lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
  if config.build_lut:
    table = report.build_table(config)
    print(f"lookup table of {len(table.ops)} op sites for {table.environment['device_kind']} "
          f"written to {config.lut}")
    return
  result = report.evaluate(config)
  print("\n".join(report.table(result)))
  print(json.dumps(result))


if __name__ == "__main__":
  cli.run(main)
