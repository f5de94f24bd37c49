"""How well the per-op lookup table predicts measured end-to-end latency on this device.

  python -m benchmarks.latency_lut --space=nb201 --channels=16 --layers=5 --samples=20
  python -m benchmarks.latency_lut --space=darts_cnn --channels=16 --layers=8 --lut=lut.json

Builds the table (or reuses the one for this device in --lut), samples genotypes (the space's rule on
random alphas), and prints one JSON line per genotype (predicted and measured ms), then a summary line
with Pearson r and Kendall tau over the sample.
"""

import json

import numpy as np
from absl import app, flags

from darts_jax import spaces
from darts_jax.cost import latency, lut, networks, sites
from darts_jax.tabular.correlation import kendall_tau

_SPACE = flags.DEFINE_enum("space", "nb201", ["nb201", "darts_cnn"], "Search space.")
_CHANNELS = flags.DEFINE_integer("channels", 16, "Initial channels.")
_LAYERS = flags.DEFINE_integer("layers", 5, "Cells (DARTS) or cells per stage (NB201).")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 32, "Input height and width.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 1, "Batch size of every measurement.")
_SAMPLES = flags.DEFINE_integer("samples", 20, "Sampled genotypes.")
_REPEATS = flags.DEFINE_integer("repeats", 20, "Timed calls per measurement (after 3 warm-ups).")
_SEED = flags.DEFINE_integer("seed", 0, "Genotype sampling seed.")
_LUT = flags.DEFINE_string("lut", "", "Lookup-table JSON to reuse (this device's entry) or extend.")


def main(argv):
  del argv
  space = spaces.get(_SPACE.value)
  size = networks.NetworkSize(_CHANNELS.value, _LAYERS.value, image_size=_IMAGE_SIZE.value)
  timing = {"warmup": 3, "repeats": _REPEATS.value}
  device = latency.environment()["device_kind"]
  try:
    table = lut.load(_LUT.value) if _LUT.value else None
  except (FileNotFoundError, KeyError):  # no file yet, or no table for this device in it
    table = None
  if table is None:
    table = lut.build(space, size, batch_size=_BATCH_SIZE.value, **timing)
    if _LUT.value:
      lut.save(table, _LUT.value)
  cells = sites.cell_shapes(space, size)
  rng = np.random.default_rng(_SEED.value)
  predicted, measured = [], []
  for _ in range(_SAMPLES.value):
    alphas = {label: rng.standard_normal(shape) for label, shape in space.alpha_shapes().items()}
    genotype = space.discretize(alphas)
    predicted.append(table.predict(space, genotype, cells))
    measured.append(lut.network_latency(genotype, space, size, _BATCH_SIZE.value,
                                        **timing).median_ms)
    print(json.dumps({"genotype": str(genotype), "predicted_ms": predicted[-1],
                      "measured_ms": measured[-1]}), flush=True)
  print(json.dumps({"summary": True, "space": space.name, "size": table.size,
                    "batch_size": table.batch_size, "device": device, "samples": len(measured),
                    "fixed_ms": table.fixed_ms, "pearson": float(np.corrcoef(predicted, measured)[0, 1]),
                    "kendall_tau": kendall_tau(predicted, measured),
                    "environment": table.environment}))


if __name__ == "__main__":
  app.run(main)
