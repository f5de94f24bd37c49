"""Latency measured on the running backend: compile first (timed apart), warm up, then time repeated
calls that each wait for the result with ``block_until_ready``. Works unchanged on CPU, GPU and TPU."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import statistics
import time
from collections.abc import Callable

import jax
import numpy as np


def environment() -> dict[str, str]:
  """The device kind, platform and software versions a measurement was taken with."""
  device = jax.devices()[0]
  versions = {name: importlib.metadata.version(name) for name in ("jax", "jaxlib", "flax")}
  return {"device_kind": device.device_kind, "platform": device.platform, **versions}


@dataclasses.dataclass(frozen=True)
class Latency:
  """Per-call wall time in milliseconds over ``repeats`` timed calls, after ``warmup`` untimed ones."""

  median_ms: float
  min_ms: float
  max_ms: float
  iqr_ms: float  # interquartile range: the spread, robust to the odd slow call
  repeats: int
  warmup: int
  compile_s: float
  environment: dict[str, str]

  def to_json(self) -> dict:
    return dataclasses.asdict(self)


def _check_counts(warmup: int, repeats: int) -> None:
  if repeats < 1:
    raise ValueError(f"latency needs at least one timed call, got repeats={repeats}")
  if warmup < 0:
    raise ValueError(f"warmup must be >= 0, got {warmup}")


def time_calls(call: Callable[[], object], *, warmup: int, repeats: int,
               clock: Callable[[], float] = time.perf_counter) -> list[float]:
  """Seconds per call of ``call()`` (blocked until its result is ready), after ``warmup`` calls."""
  _check_counts(warmup, repeats)
  for _ in range(warmup):
    jax.block_until_ready(call())
  times = []
  for _ in range(repeats):
    start = clock()
    jax.block_until_ready(call())
    times.append(clock() - start)
  return times


def summarize(seconds: list[float], *, warmup: int, compile_s: float) -> Latency:
  """Median, spread and environment of the timed calls' seconds."""
  ms = np.asarray(seconds) * 1e3
  q25, q75 = np.percentile(ms, [25, 75])
  return Latency(float(statistics.median(ms)), float(ms.min()), float(ms.max()), float(q75 - q25),
                 len(ms), warmup, compile_s, environment())


def measure(fn: Callable, *args, warmup: int = 3, repeats: int = 20,
            clock: Callable[[], float] = time.perf_counter) -> Latency:
  """Latency of ``jax.jit(fn)(*args)``: the ahead-of-time compile is timed apart and never counted."""
  _check_counts(warmup, repeats)  # before compiling, which can take minutes
  start = clock()
  compiled = jax.jit(fn).lower(*args).compile()
  compile_s = clock() - start
  seconds = time_calls(lambda: compiled(*args), warmup=warmup, repeats=repeats, clock=clock)
  return summarize(seconds, warmup=warmup, compile_s=compile_s)
