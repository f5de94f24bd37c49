"""The benchmarks' profiling helpers: self times and reading the profiler's trace."""

import jax
import jax.numpy as jnp

from benchmarks import profiling


def test_self_time_excludes_nested_events_on_the_same_thread_only():
  loop = {"name": "while.3", "ts": 0, "dur": 10, "pid": 1, "tid": 1}
  body = {"name": "multiply_add_fusion.7", "ts": 2, "dur": 4, "pid": 1, "tid": 1}
  other_thread = {"name": "dot.1", "ts": 3, "dur": 5, "pid": 1, "tid": 2}
  after = {"name": "copy.2", "ts": 10, "dur": 1, "pid": 1, "tid": 1}
  profiling.self_times([loop, body, other_thread, after])
  assert [e["self"] for e in (loop, body, other_thread, after)] == [6, 4, 5, 1]
  assert profiling.op_kind("multiply_add_fusion.7") == "multiply_add_fusion"
  assert profiling.op_kind("select_pad_fusion.1.2") == "select_pad_fusion"


def test_profile_events_name_the_compiled_programs_instructions():
  step = lambda state, x: (state + 1, jnp.tanh(x @ x).sum())
  x = jnp.ones((64, 64))
  compiled = jax.jit(step).lower(jnp.zeros(()), x).compile()
  events = profiling.profile_events(compiled, jnp.zeros(()), x)
  lines = profiling.hlo_lines(compiled.as_text())
  assert events and all(e["name"] in lines for e in events)


def test_traced_events_of_a_compile_name_the_compilers_stages():
  lowered = jax.jit(lambda x: jnp.tanh(x @ x).sum()).lower(jnp.ones((32, 32)))
  events = profiling.traced_events(lowered.compile)
  names = {e["name"] for e in events}
  assert any("Compile" in name for name in names), sorted(names)[:20]
  assert all(e["dur"] >= 0 for e in events)


def test_time_step_reports_xla_flops_of_the_step():
  from benchmarks import timing

  step = lambda state, x: (state + 1, x @ x)  # 2 * n^3 FLOPs
  result = timing.time_step(step, jnp.zeros(()), jnp.ones((1024, 1024)), steps=1)
  assert result["gflop"] == round(2 * 1024**3 / 1e9, 2)
  assert result["steps"] == 1 and result["compile_s"] >= 0
