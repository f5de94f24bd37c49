"""S seeds in one compiled program against S separate searches, wall time of the whole runs.

  python -m benchmarks.multi_seed --seeds=4 --config=experiments/configs/nb201_digits.py:quick

Prints one JSON line: seconds for the S-seed run (``num_seeds=S``) and for S single-seed runs one
after the other in this process (the compilation cache off for both, so each separate run compiles
as a fresh process without a cache would; ``--cache`` keeps it on, as users' runs have it).
"""

import json
import os
import tempfile
import time

from absl import app, flags, logging

_SEEDS = flags.DEFINE_integer("seeds", 4, "Seeds.")
_CONFIG = flags.DEFINE_string("config", "experiments/configs/nb201_digits.py:quick", "Search config.")
_EPOCHS = flags.DEFINE_integer("epochs", 2, "Epochs per search.")
_CACHE = flags.DEFINE_bool("cache", False, "Keep JAX's persistent compilation cache on.")


def _config(seed: int, num_seeds: int):
  import importlib.util

  path, _, arg = _CONFIG.value.partition(":")
  spec = importlib.util.spec_from_file_location("benchmark_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  c = module.get_config(arg)
  c.seed, c.num_seeds, c.epochs, c.tensorboard = seed, num_seeds, _EPOCHS.value, False
  c.diagnostics.hessian_iterations = 0  # the multi-seed loop computes no diagnostics
  return c


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  import jax

  from darts_jax import search

  if not _CACHE.value:
    jax.config.update("jax_enable_compilation_cache", False)
  quiet = lambda line: None
  with tempfile.TemporaryDirectory() as folder:
    start = time.perf_counter()
    search.run(_config(0, _SEEDS.value), os.path.join(folder, "together"), report=quiet)
    together = time.perf_counter() - start
    start = time.perf_counter()
    for seed in range(_SEEDS.value):
      search.run(_config(seed, 1), os.path.join(folder, f"seed{seed}"), report=quiet)
    separate = time.perf_counter() - start
  print(json.dumps({"case": "multi_seed", "seeds": _SEEDS.value, "config": _CONFIG.value,
                    "epochs": _EPOCHS.value, "one_program_s": round(together, 1),
                    "separate_runs_s": round(separate, 1),
                    "speedup": round(separate / together, 2), "cache": _CACHE.value,
                    "device": str(jax.devices()[0])}))


if __name__ == "__main__":
  app.run(main)
