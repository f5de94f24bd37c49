"""Forward+backward time of each candidate op as the supernet runs it: stacked over a group of edges
and vectorized (default: the 8 input edges of a first-stage cell of the paper's search net, batch 64,
32x32x16).

  python -m benchmarks.mixed_op --ops=sep_conv_3x3,max_pool_3x3 --edges=8 --batch_size=64
  python -m benchmarks.mixed_op --ops=sep_conv_3x3,dil_conv_5x5 --batch_size=16 --impl=lax

Prints one JSON line per op: compile seconds and median/min/max seconds of the gradient of a scalar
loss with respect to the op's weights and its input. Use it to see which op dominates a search step
and to measure a new op before adding it to a space.
"""

import json
import time

from absl import app, flags

from benchmarks.timing import time_step

_OPS = flags.DEFINE_list("ops", None, "Ops to time (default: the DARTS space's eight).")
_EDGES = flags.DEFINE_integer("edges", 8, "Edges stacked into one group.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Images per edge.")
_SIZE = flags.DEFINE_integer("size", 32, "Height and width.")
_CHANNELS = flags.DEFINE_integer("channels", 16, "Channels.")
_STRIDE = flags.DEFINE_integer("stride", 1, "1 (normal cell) or 2 (reduction cell).")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed calls after one warm-up call.")
_IMPL = flags.DEFINE_enum("impl", "auto", ["auto", "cpu", "lax"],
                          "Convolution kernels (ops.conv_implementation): auto picks by backend.")


def run_op(name: str) -> dict:
  """Compiles and times d(sum of squares)/d(weights, input) of one stacked op."""
  import jax
  import jax.numpy as jnp
  from flax import nnx

  from darts_jax import ops
  from darts_jax.supernet import mixed

  op = mixed.stacked_op(name, _CHANNELS.value, _STRIDE.value, _EDGES.value, affine=False,
                        rngs=nnx.Rngs(0))
  graphdef, variables = nnx.split(op)
  shape = (_EDGES.value, _BATCH_SIZE.value, _SIZE.value, _SIZE.value, _CHANNELS.value)
  x = jax.random.normal(jax.random.key(0), shape)

  def loss(variables, x):
    y, _ = mixed._apply_pure(graphdef, variables, x)
    return jnp.sum(jnp.square(y))

  gradient = jax.grad(loss, argnums=(0, 1))

  def step(variables, x):  # state-passing form for time_step; the variables stay the same
    return variables, gradient(variables, x)

  with ops.conv_implementation(_IMPL.value):  # read when time_step traces the step
    timing = time_step(step, variables, x, steps=_STEPS.value)
  return {"op": name, "impl": _IMPL.value, "edges": _EDGES.value, "batch_size": _BATCH_SIZE.value,
          "size": _SIZE.value, "channels": _CHANNELS.value, "stride": _STRIDE.value,
          "compile_s": timing["compile_s"], "median_s": timing["step_median_s"],
          "min_s": timing["step_min_s"], "max_s": timing["step_max_s"],
          "device": str(jax.devices()[0])}


def main(argv):
  del argv
  from darts_jax.spaces.darts_cnn import DartsCNN

  for name in _OPS.value or DartsCNN().op_names:
    start = time.perf_counter()
    record = run_op(name)
    record["wall_s"] = round(time.perf_counter() - start, 2)
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
  app.run(main)
