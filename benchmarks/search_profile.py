"""Where a search step's time goes: the compiled ops of one step ranked by their own (self) time.

  python -m benchmarks.search_profile --mode=first_order --layers=3 --batch_size=64 --top=15

Compiles the step of ``benchmarks.search_step`` (same flags for the net), runs it once to warm up,
then once under ``jax.profiler``. Prints one JSON line per op kind (XLA's fusion name without its
number, e.g. ``select_dynamic-update-slice_fusion``), then one per instruction, each with seconds of
self time (its children, such as a loop's body, excluded), call count and the instruction's HLO
(output shape first). The last line is the total. Use it to find the op a change should target.

With ``--phase=compile`` it profiles the compilation instead and ranks XLA's compiler stages
(HLO passes, fusion emitters, LLVM code generation) by self time: where compile time goes.
"""

import collections
import json
import time

from absl import app, flags

from benchmarks import search_step
from benchmarks.profiling import hlo_lines, op_kind, profile_events, self_times, traced_events
from darts_jax import compiling

_MODE = flags.DEFINE_string("mode", "first_order", "weights_only, first_order, second_order or "
                            "second_order_fd.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Batch size.")
_TOP = flags.DEFINE_integer("top", 15, "Op kinds and instructions to print.")
_PHASE = flags.DEFINE_enum("phase", "step", ["step", "compile"], "Profile a step or the compilation.")


def ranked(events: list[dict], key, top: int) -> list[tuple[str, float, int]]:
  """``(name, self seconds, calls)`` of the ``top`` names ``key(event)`` by total self time."""
  seconds, calls = collections.Counter(), collections.Counter()
  for event in events:
    seconds[key(event)] += event["self"] / 1e6
    calls[key(event)] += 1
  return [(name, total, calls[name]) for name, total in seconds.most_common(top)]


def profile_compile(lowered) -> None:
  """Prints XLA's compiler stages ranked by self time (total time too: a stage's work on worker
  threads is not nested in it), then the compile's wall seconds."""
  start = time.perf_counter()
  events = self_times(traced_events(lowered.compile))
  wall = time.perf_counter() - start
  totals = collections.Counter()
  for event in events:
    totals[event["name"]] += event["dur"] / 1e6
  for name, seconds, calls in ranked(events, lambda e: e["name"], _TOP.value):
    print(json.dumps({"stage": name, "self_s": round(seconds, 3), "total_s": round(totals[name], 3),
                      "calls": calls}))
  print(json.dumps({"mode": _MODE.value, "batch_size": _BATCH_SIZE.value,
                    "layers": flags.FLAGS.layers, "compile_s": round(wall, 2)}))


def profile_step(compiled, state, batch) -> None:
  """Prints the step's op kinds, then its instructions, ranked by self time, then the total."""
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


def main(argv):
  del argv
  step, state, batch, _ = search_step.build_case(_MODE.value, _BATCH_SIZE.value)
  lowered = compiling.jit(step, donate_argnums=0).lower(state, batch, batch)
  if _PHASE.value == "compile":
    profile_compile(lowered)
  else:
    profile_step(lowered.compile(), state, batch)


if __name__ == "__main__":
  app.run(main)
