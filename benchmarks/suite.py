"""The device benchmark suite: one command, one JSON line per case, each case in its own process.

  python -m benchmarks.suite                  # the accelerator suite (sized for one H200, ~8 min)
  python -m benchmarks.suite --quick          # tiny sizes: checks the suite itself on a CPU

Cases, in this order (so that a run cut short has the most important figures):
- ``search``: a search step of the paper's supernet (8 cells, C=16, 32x32) for weights_only,
  first_order, second_order and second_order_fd at batch 64 and 256: trace/compile seconds, step
  time, XLA's FLOP count, peak device memory (``memory_stats``);
- ``train``: DARTS_V2 retraining steps (C=36, 20 cells, auxiliary head, drop-path) at batch 96 and
  256 in float32 and bfloat16, with images/s;
- ``golden``: the float64 golden tests against the original DARTS code, on this backend.
A case past ``--case_timeout`` seconds is stopped and reported as such.
"""

import json
import os
import subprocess
import sys
import time

from absl import app, flags

from benchmarks.timing import run_isolated

_QUICK = flags.DEFINE_bool("quick", False, "Tiny sizes, for checking the suite on a CPU.")
_CASES = flags.DEFINE_list("cases", ["search", "train", "golden"], "Which groups to run.")
_CASE_TIMEOUT = flags.DEFINE_float("case_timeout", 240.0, "Seconds before a case is stopped.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per case after one warm-up step.")

SEARCH_MODES = ("first_order", "weights_only", "second_order", "second_order_fd")


def _sizes(quick: bool) -> dict:
  if quick:
    return {"search": {"batch_sizes": (8,), "layers": 3, "channels": 2},
            "train": {"batch_sizes": (8,), "layers": 3, "channels": 4}}
  return {"search": {"batch_sizes": (64, 256), "layers": 8, "channels": 16},
          "train": {"batch_sizes": (96, 256), "layers": 20, "channels": 36}}


def _golden(timeout: float) -> dict:
  """The golden tests run by pytest on this backend (one process, no plugins from pyproject)."""
  started = time.perf_counter()
  try:
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/golden_test.py", "-q",
                          "-o", "addopts=", "-p", "no:cacheprovider"], capture_output=True,
                         text=True, timeout=timeout, cwd=os.path.dirname(os.path.dirname(__file__)))
  except subprocess.TimeoutExpired:
    return {"case": "golden", "error": f"stopped after {timeout:.0f} s"}
  summary = (out.stdout.strip().splitlines() or ["no output"])[-1]
  return {"case": "golden", "passed": out.returncode == 0, "summary": summary,
          "seconds": round(time.perf_counter() - started, 1)}


def main(argv):
  del argv
  sizes, timeout, steps = _sizes(_QUICK.value), _CASE_TIMEOUT.value, f"--steps={_STEPS.value}"
  if "search" in _CASES.value:
    s = sizes["search"]
    for batch_size in s["batch_sizes"]:
      for mode in SEARCH_MODES:
        run_isolated("benchmarks.search_step", f"{mode}:{batch_size}",
                     [steps, f"--layers={s['layers']}", f"--channels={s['channels']}"],
                     {"case": "search", "mode": mode, "batch_size": batch_size}, timeout=timeout)
  if "train" in _CASES.value:
    t = sizes["train"]
    for dtype in ("float32", "bfloat16"):
      for batch_size in t["batch_sizes"]:
        run_isolated("benchmarks.train_step", str(batch_size),
                     [steps, f"--layers={t['layers']}", f"--channels={t['channels']}",
                      f"--dtype={dtype}"],
                     {"case": "train", "dtype": dtype, "batch_size": batch_size}, timeout=timeout)
  if "golden" in _CASES.value:
    print(json.dumps(_golden(timeout * 2)), flush=True)


if __name__ == "__main__":
  app.run(main)
