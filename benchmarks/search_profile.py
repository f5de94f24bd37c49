"""Where a search step's time goes: the compiled ops of one step ranked by their own (self) time.

  python -m benchmarks.search_profile --mode=first_order --layers=3 --batch_size=64 --top=15

Compiles the step of ``benchmarks.search_step`` (same flags for the net), runs it once to warm up,
then once under ``jax.profiler``. Prints one JSON line per op kind (XLA's fusion name without its
number, e.g. ``select_dynamic-update-slice_fusion``), then one per instruction, each with seconds of
self time (its children, such as a loop's body, excluded), call count and the instruction's HLO
(output shape first). The last line is the total. Use it to find the op a change should target.
"""

import collections
import json

from absl import app, flags

from benchmarks import search_step
from benchmarks.profiling import hlo_lines, op_kind, profile_events, self_times
from darts_jax import compiling

_MODE = flags.DEFINE_string("mode", "first_order", "weights_only, first_order, second_order or "
                            "second_order_fd.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Batch size.")
_TOP = flags.DEFINE_integer("top", 15, "Op kinds and instructions to print.")


def ranked(events: list[dict], key, top: int) -> list[tuple[str, float, int]]:
  """``(name, self seconds, calls)`` of the ``top`` names ``key(event)`` by total self time."""
  seconds, calls = collections.Counter(), collections.Counter()
  for event in events:
    seconds[key(event)] += event["self"] / 1e6
    calls[key(event)] += 1
  return [(name, total, calls[name]) for name, total in seconds.most_common(top)]


def main(argv):
  del argv
  step, state, batch, _ = search_step.build_case(_MODE.value, _BATCH_SIZE.value)
  compiled = compiling.jit(step, donate_argnums=0).lower(state, batch, batch).compile()
  events = self_times(profile_events(compiled, state, batch, batch))
  lines = hlo_lines(compiled.as_text())
  for kind, seconds, calls in ranked(events, lambda e: op_kind(e["name"]), _TOP.value):
    print(json.dumps({"kind": kind, "self_s": round(seconds, 3), "calls": calls}))
  for name, seconds, calls in ranked(events, lambda e: e["name"], _TOP.value):
    print(json.dumps({"op": name, "self_s": round(seconds, 3), "calls": calls,
                      "hlo": lines.get(name, "")[:200]}))
  print(json.dumps({"mode": _MODE.value, "batch_size": _BATCH_SIZE.value,
                    "layers": flags.FLAGS.layers, "total_self_s": round(sum(e["self"] for e in events) / 1e6, 3),
                    "ops": len({e["name"] for e in events})}))


if __name__ == "__main__":
  app.run(main)
