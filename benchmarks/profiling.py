"""Reading a ``jax.profiler`` trace of a compiled step: per-instruction events and their self time."""

import collections
import glob
import gzip
import json
import os
import re
import tempfile


def self_times(events: list[dict]) -> list[dict]:
  """Adds ``self`` (duration minus that of events nested in it on the same thread) to each
  complete event; returns the events."""
  by_thread = collections.defaultdict(list)
  for event in events:
    event["self"] = event["dur"]
    by_thread[event["pid"], event["tid"]].append(event)
  for thread in by_thread.values():
    thread.sort(key=lambda e: (e["ts"], -e["dur"]))
    open_events = []
    for event in thread:
      while open_events and open_events[-1]["ts"] + open_events[-1]["dur"] <= event["ts"]:
        open_events.pop()
      if open_events:
        open_events[-1]["self"] -= event["dur"]
      open_events.append(event)
  return events


def op_kind(name: str) -> str:
  """``multiply_add_fusion.12`` -> ``multiply_add_fusion``."""
  return re.sub(r"(\.\d+)+$", "", name)


def hlo_lines(hlo_text: str) -> dict[str, str]:
  """Instruction name -> the right-hand side of its HLO line (shape first)."""
  lines = {}
  for line in hlo_text.splitlines():
    match = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = (.*)", line)
    if match:
      lines.setdefault(match.group(1), match.group(2))
  return lines


def traced_events(fn) -> list[dict]:
  """The complete events ``jax.profiler`` records while ``fn()`` runs (XLA's compiler passes and
  the executed HLO ops among them)."""
  import jax

  with tempfile.TemporaryDirectory() as directory:
    with jax.profiler.trace(directory, create_perfetto_trace=True):
      fn()
    [path] = glob.glob(os.path.join(directory, "plugins", "profile", "*", "perfetto_trace.json.gz"))
    with gzip.open(path) as f:
      events = json.load(f)["traceEvents"]
  return [e for e in events if e.get("ph") == "X"]


def profile_events(compiled, state, *args) -> list[dict]:
  """The HLO-op events of one call of ``compiled`` (after one warm-up call)."""
  import jax

  state, _ = compiled(state, *args)
  jax.block_until_ready(state)
  events = traced_events(lambda: jax.block_until_ready(compiled(state, *args)))
  return [e for e in events if "hlo_op" in e.get("args", {})]
