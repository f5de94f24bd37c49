"""Compiling the hot steps (search, retraining) for low peak memory.

Two measures, measured on a 3-cell search step at batch 64 on 2 CPU cores: XLA:CPU's
memory-optimized op schedule (preallocated temp 5.61 -> 4.27 GiB, same step time), and handing the
compiler's freed heap back to the OS before the step first runs (resident memory after compiling
2.3 -> 1.05 GiB), so the step's buffers do not stack on top of the compiler's leftovers.
"""

import ctypes
import ctypes.util
import functools
import os

import jax
from jax import monitoring

_CPU_OPTIONS = {"xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED"}
# For programs compiled once and run on tiny inputs (tests, checks): LLVM without optimization and
# XLA:CPU's fast-compile preset. A 5-cell float64 supernet's weight gradient compiled in 17 s
# instead of 41 s without optimization, and the preset took another fifth off; it ran as fast.
QUICK_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True,
                 "xla_cpu_opt_preset": "CPU_OPT_PRESET_FAST_COMPILE"}
_BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"  # jax._src.dispatch


# Set to 1 (the test suite does): hot steps compile with QUICK_COMPILE too, for tiny test runs.
QUICK_COMPILE_ENV = "DARTS_JAX_QUICK_COMPILE"


def jit(fn, **jit_kwargs):
  """``jax.jit`` with the memory-optimized schedule on CPU (options passed in ``compiler_options``
  win), and QUICK_COMPILE where ``$DARTS_JAX_QUICK_COMPILE`` is 1; releases compiler memory after
  every compile."""
  release_compiler_memory()
  if jax.default_backend() == "cpu":
    quick = QUICK_COMPILE if os.environ.get(QUICK_COMPILE_ENV) == "1" else {}
    jit_kwargs["compiler_options"] = {**_CPU_OPTIONS, **quick,
                                      **jit_kwargs.get("compiler_options", {})}
  return jax.jit(fn, **jit_kwargs)


def _libc_malloc_trim():
  path = ctypes.util.find_library("c")
  return getattr(ctypes.CDLL(path), "malloc_trim", None) if path else None


_malloc_trim = _libc_malloc_trim()  # None where libc is not glibc


@functools.cache
def release_compiler_memory() -> bool:
  """From now on, returns freed heap to the OS after each XLA compile, before the compiled program
  allocates its buffers. False (and nothing changes) where libc has no ``malloc_trim``."""
  if _malloc_trim is None:
    return False
  monitoring.register_event_duration_secs_listener(_after_compile)
  return True


def _after_compile(event: str, duration_secs: float, **kwargs) -> None:
  del duration_secs, kwargs
  if event == _BACKEND_COMPILE_EVENT:
    _malloc_trim(0)
