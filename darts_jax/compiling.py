"""How darts_jax compiles its hot steps: ``jax.jit`` plus XLA options chosen by measurement."""

from __future__ import annotations

import jax

# XLA:CPU's fast-compile preset: the 3-cell search step compiled in 73 s instead of 93 s with the same
# step time (benchmarks/search_step.py figures in the README). Other backends keep their defaults.
CPU_OPTIONS = {"xla_cpu_opt_preset": "CPU_OPT_PRESET_FAST_COMPILE"}


def jit(fn, **kwargs):
  """``jax.jit(fn, **kwargs)`` with the compiler options of the default backend."""
  options = CPU_OPTIONS if jax.default_backend() == "cpu" else None
  return jax.jit(fn, compiler_options=options, **kwargs)
