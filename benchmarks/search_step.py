"""Search-step speed and memory of the paper's search supernet (8 cells, C=16, 32x32x3, 10 classes).

  python -m benchmarks.search_step --modes=first_order,second_order --batch_sizes=64,16 --steps=5

Prints one JSON line per (mode, batch size): build/trace/compile seconds, median/min/max step seconds
after one warm-up step, peak RSS (each case runs in its own process) and ``n_params`` (weights only).
Modes: ``weights_only`` (a weight step), ``first_order``, ``second_order``, ``second_order_fd``
(a full search step: alpha step then weight step).
"""

import json
import resource
import statistics
import subprocess
import sys
import time

from absl import app, flags

_MODES = flags.DEFINE_list("modes", ["weights_only", "first_order", "second_order",
                                     "second_order_fd"], "Which steps to time.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["64", "16"], "Batch sizes.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps after one warm-up step.")
_LAYERS = flags.DEFINE_integer("layers", 8, "Cells in the supernet.")
_CHANNELS = flags.DEFINE_integer("channels", 16, "Initial channels.")
_REMAT = flags.DEFINE_bool("remat", False, "Rematerialize each cell in the backward pass.")
_CASE = flags.DEFINE_string("case", None, "Internal: run one 'mode:batch' case in this process.")


def _config(mode: str, batch_size: int):
  from experiments.configs import default
  c = default.get_config()
  c.network.channels, c.network.layers, c.batch_size = _CHANNELS.value, _LAYERS.value, batch_size
  c.network.remat = _REMAT.value
  c.architect = "first_order" if mode == "weights_only" else mode
  return c


def run_case(mode: str, batch_size: int) -> dict:
  """Builds the supernet, compiles the step and times it; returns one result record."""
  import jax
  import numpy as np

  from darts_jax import data, optim, search, variables

  config = _config(mode, batch_size)
  rng = np.random.default_rng(0)
  images = rng.standard_normal((batch_size, 32, 32, 3), dtype=np.float32)
  labels = rng.integers(0, 10, batch_size).astype(np.int32)
  batch = {"image": images, "label": labels}
  fake = data.Dataset("random", *(data.Split(images, labels),) * 3, num_classes=10, source="random")
  schedule = optim.epoch_cosine(0.025, 0.001, 50, 390)

  start = time.perf_counter()
  graphdef, _, state = search.init_state(config, fake, schedule)
  build = time.perf_counter() - start
  if mode == "weights_only":
    step = lambda s, t, v: search.make_steps(graphdef, config, schedule)[1](s, t)
  else:
    step = search.make_search_step(graphdef, config, schedule)
  jitted = jax.jit(step, donate_argnums=0)
  start = time.perf_counter()
  lowered = jitted.lower(state, batch, batch)
  trace = time.perf_counter() - start
  start = time.perf_counter()
  compiled = lowered.compile()
  compile_seconds = time.perf_counter() - start
  state, metrics = compiled(state, batch, batch)
  jax.block_until_ready(metrics)
  times = []
  for _ in range(_STEPS.value):
    start = time.perf_counter()
    state, metrics = compiled(state, batch, batch)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  return {"mode": mode, "batch_size": batch_size, "build_s": round(build, 2),
          "trace_s": round(trace, 2), "compile_s": round(compile_seconds, 2),
          "step_median_s": round(statistics.median(times), 3), "step_min_s": round(min(times), 3),
          "step_max_s": round(max(times), 3), "steps": len(times),
          "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
          "n_params": variables.count_weights(state.weights), "device": str(jax.devices()[0]),
          "layers": _LAYERS.value, "channels": _CHANNELS.value, "remat": _REMAT.value}


def main(argv):
  del argv
  if _CASE.value:
    mode, batch_size = _CASE.value.split(":")
    print(json.dumps(run_case(mode, int(batch_size))), flush=True)
    return
  for batch_size in _BATCH_SIZES.value:
    for mode in _MODES.value:
      args = [sys.executable, "-m", "benchmarks.search_step", f"--case={mode}:{batch_size}",
              f"--steps={_STEPS.value}", f"--layers={_LAYERS.value}",
              f"--channels={_CHANNELS.value}", f"--remat={_REMAT.value}"]
      out = subprocess.run(args, capture_output=True, text=True)
      lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
      if out.returncode or not lines:
        print(json.dumps({"mode": mode, "batch_size": int(batch_size), "error":
                          out.stderr.strip().splitlines()[-1] if out.stderr else "no output"}))
      else:
        print(lines[-1], flush=True)


if __name__ == "__main__":
  app.run(main)
