"""Search-step speed and memory of the paper's search supernet (8 cells, C=16, 32x32x3, 10 classes).

  python -m benchmarks.search_step --modes=first_order,second_order --batch_sizes=64,16 --steps=5

Prints one JSON line per (mode, batch size): build/trace/compile seconds, median/min/max step seconds
after one warm-up step, peak RSS (each case runs in its own process) and ``n_params`` (weights only).
Modes: ``weights_only`` (a weight step), ``first_order``, ``second_order``, ``second_order_fd``
(a full search step: alpha step then weight step). ``--method`` times a DARTS-family method's step
(darts_jax/methods), e.g. ``--method=gdas --modes=first_order`` against ``--method=darts``.
"""

import json
import time

from absl import app, flags

from benchmarks.timing import peak_device_gib, peak_rss_gib, run_isolated, time_step

_MODES = flags.DEFINE_list("modes", ["weights_only", "first_order", "second_order",
                                     "second_order_fd"], "Which steps to time.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["64", "16"], "Batch sizes.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps after one warm-up step.")
_LAYERS = flags.DEFINE_integer("layers", 8, "Cells in the supernet.")
_CHANNELS = flags.DEFINE_integer("channels", 16, "Initial channels.")
_REMAT = flags.DEFINE_bool("remat", False, "Rematerialize each cell in the backward pass.")
_METHOD = flags.DEFINE_string("method", "darts", "The method (darts_jax/methods) whose step runs.")
_CASE = flags.DEFINE_string("case", None, "Internal: run one 'mode:batch' case in this process.")


def _config(mode: str, batch_size: int):
  from experiments.configs import default
  c = default.get_config()
  c.network.channels, c.network.layers, c.batch_size = _CHANNELS.value, _LAYERS.value, batch_size
  c.network.remat = _REMAT.value
  c.architect = "first_order" if mode == "weights_only" else mode
  c.method = _METHOD.value
  return c


def build_case(mode: str, batch_size: int):
  """The paper search net and its step for ``mode``: ``(step, state, batch, build_seconds)``, where
  ``state, metrics = step(state, train_batch, val_batch)``."""
  import numpy as np

  from darts_jax import data, optim, search

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
  return step, state, batch, build


def run_case(mode: str, batch_size: int) -> dict:
  """Builds the supernet, compiles the step and times it; returns one result record."""
  import jax

  from darts_jax import variables

  step, state, batch, build = build_case(mode, batch_size)
  n_params = variables.count_weights(state.weights)
  timing = time_step(step, state, batch, batch, steps=_STEPS.value)
  return {"mode": mode, "method": _METHOD.value, "batch_size": batch_size,
          "build_s": round(build, 2), **timing,
          "peak_rss_gib": peak_rss_gib(), "peak_device_gib": peak_device_gib(),
          "n_params": n_params, "device": str(jax.devices()[0]),
          "layers": _LAYERS.value, "channels": _CHANNELS.value, "remat": _REMAT.value}


def main(argv):
  del argv
  if _CASE.value:
    mode, batch_size = _CASE.value.split(":")
    print(json.dumps(run_case(mode, int(batch_size))), flush=True)
    return
  for batch_size in _BATCH_SIZES.value:
    for mode in _MODES.value:
      run_isolated("benchmarks.search_step", f"{mode}:{batch_size}",
                   [f"--steps={_STEPS.value}", f"--layers={_LAYERS.value}",
                    f"--channels={_CHANNELS.value}", f"--remat={_REMAT.value}",
                    f"--method={_METHOD.value}"],
                   {"mode": mode, "method": _METHOD.value, "batch_size": int(batch_size)})


if __name__ == "__main__":
  app.run(main)
