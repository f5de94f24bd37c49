"""What the step benchmarks share: timing a jitted state-passing step, peak memory, and running
each case in its own process (so peak RSS belongs to one case)."""

import json
import resource
import statistics
import subprocess
import sys
import time

from darts_jax import compiling
from darts_jax.cost import latency


def time_step(step, state, *args, steps: int) -> dict:
  """Traces, compiles, warms up once, then times ``steps`` calls of ``state, out = step(state, *args)``
  with ``block_until_ready``. Compile time is reported apart, never inside a step's time.
  ``gflop`` is XLA's FLOP count of the traced step, which counts a loop body once (a depthwise
  conv's scan over its taps counts one tap): a lower bound, for comparing steps."""
  jitted = compiling.jit(step, donate_argnums=0)
  start = time.perf_counter()
  lowered = jitted.lower(state, *args)
  trace = time.perf_counter() - start
  start = time.perf_counter()
  compiled = lowered.compile()
  compile_seconds = time.perf_counter() - start
  carried = [state]

  def call():
    carried[0], out = compiled(carried[0], *args)
    return out

  times = latency.time_calls(call, warmup=1, repeats=steps)
  return {"trace_s": round(trace, 2), "compile_s": round(compile_seconds, 2),
          "gflop": round((lowered.cost_analysis() or {}).get("flops", 0.0) / 1e9, 2),
          "step_median_s": round(statistics.median(times), 5), "step_min_s": round(min(times), 5),
          "step_max_s": round(max(times), 5), "steps": len(times)}


def peak_rss_gib() -> float:
  return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)


def peak_device_gib() -> float | None:
  """Peak memory in use on the first device since the process started (``memory_stats``; None
  where the backend keeps none, as XLA:CPU)."""
  import jax
  stats = jax.devices()[0].memory_stats() or {}
  peak = stats.get("peak_bytes_in_use")
  return None if peak is None else round(peak / 2**30, 2)


def run_isolated(module: str, case: str, flag_args: list[str], label: dict, *,
                 timeout: float | None = None) -> None:
  """Runs ``python -m module --case=case`` and prints its JSON line (or ``label`` plus the error;
  a case past ``timeout`` seconds is stopped and reported as such)."""
  try:
    out = subprocess.run([sys.executable, "-m", module, f"--case={case}", *flag_args],
                         check=False, capture_output=True, text=True, timeout=timeout)
  except subprocess.TimeoutExpired:
    print(json.dumps({**label, "error": f"stopped after {timeout:.0f} s"}), flush=True)
    return
  lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
  if out.returncode or not lines:
    error = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "no output"
    print(json.dumps({**label, "error": error}), flush=True)
  else:
    print(lines[-1], flush=True)
