"""Retraining-step speed and memory of an evaluation network (default: DARTS_V2, the paper's CIFAR
setting: 20 cells, C=36, batch 96, 32x32x3, auxiliary head 0.4, drop-path 0.2).

  python -m benchmarks.train_step --batch_sizes=96 --steps=5

Prints one JSON line per batch size (each in its own process): build/trace/compile seconds,
median/min/max step seconds after one warm-up step, images/s at the median, peak RSS, weights.
"""

import json
import time

from absl import app, flags

from benchmarks.timing import peak_device_gib, peak_rss_gib, run_isolated, time_step

_GENOTYPE = flags.DEFINE_string("genotype", "DARTS_V2", "Published name, genotype.json or literal.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["96"], "Batch sizes.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps after one warm-up step.")
_LAYERS = flags.DEFINE_integer("layers", 20, "Cells.")
_CHANNELS = flags.DEFINE_integer("channels", 36, "Initial channels.")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16"], "Compute dtype.")
_CASE = flags.DEFINE_string("case", None, "Internal: run one batch size in this process.")


def run_case(batch_size: int) -> dict:
  """Builds the network, compiles the train step and times it; returns one result record."""
  import jax
  import jax.numpy as jnp
  import numpy as np

  from darts_jax import data, genotypes, retrain
  from darts_jax.cost import params as cost_params
  from experiments.configs import retrain_cifar10

  config = retrain_cifar10.get_config()
  config.genotype, config.batch_size = _GENOTYPE.value, batch_size
  config.network.channels, config.network.layers = _CHANNELS.value, _LAYERS.value
  config.compute_dtype = _DTYPE.value
  rng = np.random.default_rng(0)
  batch = {"image": rng.standard_normal((batch_size, 32, 32, 3), dtype=np.float32),
           "label": rng.integers(0, 10, batch_size).astype(np.int32)}
  split = data.Split(batch["image"], batch["label"])
  fake = data.Dataset("random", split, split, split, num_classes=10, source="random")

  start = time.perf_counter()
  model = retrain.build_network(config, genotypes.resolve(config.genotype), fake)
  params = cost_params.count(model)
  tx, _ = retrain.optimizer(config, steps_per_epoch=521)  # CIFAR-10's 50k images at batch 96
  graphdef, _, state = retrain.initial_state(model, tx, config.seed)
  build = time.perf_counter() - start
  step = retrain.make_train_step(graphdef, config, tx)
  timing = time_step(step, state, batch, jnp.float32(config.drop_path / 2), steps=_STEPS.value)
  return {"genotype": _GENOTYPE.value, "batch_size": batch_size, "dtype": _DTYPE.value,
          "build_s": round(build, 2),
          **timing, "images_per_s": round(batch_size / timing["step_median_s"], 1),
          "peak_rss_gib": peak_rss_gib(), "peak_device_gib": peak_device_gib(),
          "n_params": params, "device": str(jax.devices()[0]),
          "layers": _LAYERS.value, "channels": _CHANNELS.value}


def main(argv):
  del argv
  if _CASE.value:
    print(json.dumps(run_case(int(_CASE.value))), flush=True)
    return
  for batch_size in _BATCH_SIZES.value:
    run_isolated("benchmarks.train_step", batch_size,
                 [f"--genotype={_GENOTYPE.value}", f"--steps={_STEPS.value}",
                  f"--dtype={_DTYPE.value}",
                  f"--layers={_LAYERS.value}", f"--channels={_CHANNELS.value}"],
                 {"genotype": _GENOTYPE.value, "batch_size": int(batch_size)})


if __name__ == "__main__":
  app.run(main)
