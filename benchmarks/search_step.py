"""Search-step speed and memory of the paper's search supernet (8 cells, C=16, 32x32x3, 10 classes).

  python -m benchmarks.search_step --modes=first_order,second_order --batch_sizes=64,16 --steps=5

Prints one JSON line per (mode, batch size): build/trace/compile seconds, median/min/max step seconds
after one warm-up step, peak RSS (each case runs in its own process) and ``n_params`` (weights only).
Modes: ``weights_only`` (a weight step), ``first_order``, ``second_order``, ``second_order_fd``
(a full search step: alpha step then weight step). ``--method`` times a DARTS-family method's step
(darts_jax/methods), e.g. ``--method=gdas --modes=first_order`` against ``--method=darts``.
``--seeds=S`` times the step of S seeds vmapped in one program (``--config.num_seeds``: own
weights, alphas and batches per seed) and adds the time per seed. ``--recompute`` sets the
backward pass's recompute policy (auto, none, ops, cell), ``--conv_implementation`` the
convolution kernels (auto, cpu, lax).
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
_RECOMPUTE = flags.DEFINE_enum("recompute", "auto", ["auto", "none", "ops", "cell"],
                               "What the backward pass recomputes (config.network.recompute).")
_SEEDS = flags.DEFINE_integer("seeds", 1, "Seeds vmapped in one step (config.num_seeds).")
_OPS = flags.DEFINE_list("ops", [], "Candidate ops (config.ops); empty: the DARTS space's eight.")
_CONV = flags.DEFINE_enum("conv_implementation", "auto", ["auto", "cpu", "lax"],
                          "Convolution kernels (config.conv_implementation).")
_METHOD = flags.DEFINE_string("method", "darts", "The method (darts_jax/methods) whose step runs.")
_CASE = flags.DEFINE_string("case", None, "Internal: run one 'mode:batch' case in this process.")


def _config(mode: str, batch_size: int):
  from experiments.configs import default
  c = default.get_config()
  c.network.channels, c.network.layers, c.batch_size = _CHANNELS.value, _LAYERS.value, batch_size
  c.network.recompute = _RECOMPUTE.value
  c.ops = tuple(_OPS.value)
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
  states = []
  for seed in range(_SEEDS.value):
    config.seed = seed
    graphdef, _, state = search.init_state(config, fake, schedule)
    states.append(state)
  build = time.perf_counter() - start
  if mode == "weights_only":
    step = lambda s, t, v: search.make_steps(graphdef, config, schedule)[1](s, t)
  else:
    step = search.make_search_step(graphdef, config, schedule)
  if _SEEDS.value > 1:  # as multi_seed.run: the state and the batches gain a leading seed axis
    import jax
    import jax.numpy as jnp
    step = jax.vmap(step)
    state = jax.tree.map(lambda *x: jnp.stack(x), *states)
    batch = {k: np.stack([v] * _SEEDS.value) for k, v in batch.items()}
  return step, state, batch, build


def run_case(mode: str, batch_size: int) -> dict:
  """Builds the supernet, compiles the step and times it; returns one result record."""
  import jax

  from darts_jax import variables

  from darts_jax import ops
  ops.set_conv_implementation(_CONV.value)
  step, state, batch, build = build_case(mode, batch_size)
  n_params = variables.count_weights(state.weights)
  timing = time_step(step, state, batch, batch, steps=_STEPS.value)
  if _SEEDS.value > 1:
    n_params //= _SEEDS.value
    timing["step_per_seed_s"] = round(timing["step_median_s"] / _SEEDS.value, 5)
  return {"mode": mode, "method": _METHOD.value, "batch_size": batch_size,
          "seeds": _SEEDS.value, "build_s": round(build, 2), **timing,
          "peak_rss_gib": peak_rss_gib(), "peak_device_gib": peak_device_gib(),
          "n_params": n_params, "device": str(jax.devices()[0]),
          "layers": _LAYERS.value, "channels": _CHANNELS.value, "recompute": _RECOMPUTE.value,
          "conv_implementation": _CONV.value}


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
                    f"--channels={_CHANNELS.value}", f"--recompute={_RECOMPUTE.value}",
                    f"--method={_METHOD.value}", f"--seeds={_SEEDS.value}",
                    f"--ops={','.join(_OPS.value)}", f"--conv_implementation={_CONV.value}"],
                   {"mode": mode, "method": _METHOD.value, "batch_size": int(batch_size),
                    "seeds": _SEEDS.value})


if __name__ == "__main__":
  app.run(main)
