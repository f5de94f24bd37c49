"""The device benchmark suite: one command, one JSON line per case, each case in its own process.

  python -m benchmarks.suite                  # the accelerator suite (sized for one H200, ~8 min)
  python -m benchmarks.suite --tiny           # tiny sizes: checks the whole suite on a CPU

Cases, in this order (so that a run cut short has the most important figures):
- ``search``: a search step of the paper's supernet (8 cells, C=16, 32x32) for weights_only,
  first_order, second_order and second_order_fd at batch 64 and 256: trace/compile seconds, step
  time, XLA's FLOP count, peak device memory (``memory_stats``);
- ``train``: DARTS_V2 retraining steps (C=36, 20 cells, auxiliary head, drop-path) at batch 96 and
  256 in float32 and bfloat16, with images/s;
- ``multi_seed``: the first-order step of 4 seeds vmapped in one program at batch 64 (against the
  one-seed step of ``search``), with the time per seed;
- ``input``: the input pipeline, uint8 pixels to augmented batches on the device, at 32 and 224 px;
- ``golden``: the float64 golden tests against the original DARTS code, on this backend (with
  ``--tiny`` only the genotype rule and the evaluation networks, the fastest to compile).
A case past ``--case_timeout`` seconds is stopped and reported as such.
"""

import json
import os
import subprocess
import sys
import time

from absl import app, flags

from benchmarks.timing import run_isolated
from darts_jax import compiling

_TINY = flags.DEFINE_bool("tiny", False, "Tiny sizes, for checking the suite on a CPU.")
flags.DEFINE_alias("quick", "tiny")
_CASES = flags.DEFINE_list("cases", ["search", "train", "multi_seed", "input", "golden"],
                           "Which groups to run.")
_CASE_TIMEOUT = flags.DEFINE_float("case_timeout", 240.0, "Seconds before a case is stopped.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per case after one warm-up step.")

SEARCH_MODES = ("first_order", "weights_only", "second_order", "second_order_fd")
TINY_OPS = "none,avg_pool_3x3,skip_connect,sep_conv_3x3"  # one op of each kind: quick to compile


def _sizes(tiny: bool) -> dict:
  if tiny:
    return {"search": {"batch_sizes": (8,), "layers": 3, "channels": 2, "ops": TINY_OPS},
            "train": {"batch_sizes": (8,), "layers": 3, "channels": 4},
            "multi_seed": {"batch_size": 8, "seeds": 2},
            "input": {"batches": 5}}
  return {"search": {"batch_sizes": (64, 256), "layers": 8, "channels": 16, "ops": ""},
          "train": {"batch_sizes": (96, 256), "layers": 20, "channels": 36},
          "multi_seed": {"batch_size": 64, "seeds": 4},
          "input": {"batches": 50}}


def _input(batches: int, timeout: float) -> None:
  """``benchmarks.input_pipeline``'s lines for synthetic 32 and 224 px images, no prefetching."""
  try:
    out = subprocess.run([sys.executable, "-m", "benchmarks.input_pipeline",
                          "--sources=synthetic_32,synthetic_224", "--prefetch=0",
                          f"--batches={batches}"], capture_output=True, text=True, timeout=timeout,
                         check=False)
  except subprocess.TimeoutExpired:
    print(json.dumps({"case": "input", "error": f"stopped after {timeout:.0f} s"}), flush=True)
    return
  lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
  for line in lines:
    print(json.dumps({"case": "input", **json.loads(line)}), flush=True)
  if out.returncode or not lines:
    error = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "no output"
    print(json.dumps({"case": "input", "error": error}), flush=True)


def _golden(timeout: float, tiny: bool) -> dict:
  """The golden tests run by pytest on this backend (one process, no plugins from pyproject)."""
  started = time.perf_counter()
  select = ["-k", "genotype or network"] if tiny else []
  try:
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/golden_test.py", "-q", *select,
                          "-o", "addopts=", "-p", "no:cacheprovider"], capture_output=True,
                         text=True, timeout=timeout, cwd=os.path.dirname(os.path.dirname(__file__)))
  except subprocess.TimeoutExpired:
    return {"case": "golden", "error": f"stopped after {timeout:.0f} s"}
  summary = (out.stdout.strip().splitlines() or ["no output"])[-1]
  return {"case": "golden", "passed": out.returncode == 0, "summary": summary,
          "seconds": round(time.perf_counter() - started, 1)}


def main(argv):
  del argv
  sizes, timeout, steps = _sizes(_TINY.value), _CASE_TIMEOUT.value, f"--steps={_STEPS.value}"
  if _TINY.value:  # XLA:CPU's quick compile options (darts_jax/compiling.py) in every case's process
    os.environ[compiling.QUICK_COMPILE_ENV] = "1"
  if "search" in _CASES.value:
    s = sizes["search"]
    for batch_size in s["batch_sizes"]:
      for mode in SEARCH_MODES:
        run_isolated("benchmarks.search_step", f"{mode}:{batch_size}",
                     [steps, f"--layers={s['layers']}", f"--channels={s['channels']}",
                      f"--ops={s['ops']}"],
                     {"case": "search", "mode": mode, "batch_size": batch_size}, timeout=timeout)
  if "train" in _CASES.value:
    t = sizes["train"]
    for dtype in ("float32", "bfloat16"):
      for batch_size in t["batch_sizes"]:
        run_isolated("benchmarks.train_step", str(batch_size),
                     [steps, f"--layers={t['layers']}", f"--channels={t['channels']}",
                      f"--dtype={dtype}"],
                     {"case": "train", "dtype": dtype, "batch_size": batch_size}, timeout=timeout)
  if "multi_seed" in _CASES.value:
    s, m = sizes["search"], sizes["multi_seed"]
    run_isolated("benchmarks.search_step", f"first_order:{m['batch_size']}",
                 [steps, f"--layers={s['layers']}", f"--channels={s['channels']}",
                  f"--ops={s['ops']}", f"--seeds={m['seeds']}"],
                 {"case": "multi_seed", "mode": "first_order", "batch_size": m["batch_size"],
                  "seeds": m["seeds"]}, timeout=timeout)
  if "input" in _CASES.value:
    _input(sizes["input"]["batches"], timeout)
  if "golden" in _CASES.value:
    print(json.dumps(_golden(timeout * 2, _TINY.value)), flush=True)


if __name__ == "__main__":
  app.run(main)
