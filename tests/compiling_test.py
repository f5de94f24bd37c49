"""Compiling hot steps: same results as ``jax.jit``, options forwarded, compiler memory released."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from darts_jax import compiling


def test_results_equal_plain_jit(monkeypatch):
  """The memory-optimized schedule changes no result (at the default optimization level)."""
  monkeypatch.delenv(compiling.QUICK_COMPILE_ENV, raising=False)
  fn = lambda x: jnp.tanh(x) @ x.T
  x = jnp.arange(12.0).reshape(3, 4) / 7
  np.testing.assert_array_equal(compiling.jit(fn)(x), jax.jit(fn)(x))


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU options")
def test_quick_compile_is_asked_for_by_the_environment(monkeypatch):
  fn = lambda x: jnp.tanh(x) @ x.T
  x = jnp.arange(12.0).reshape(3, 4) / 7
  seen = []
  jit = jax.jit
  monkeypatch.setattr(compiling.jax, "jit", lambda f, **kw: seen.append(kw) or jit(f, **kw))
  monkeypatch.setenv(compiling.QUICK_COMPILE_ENV, "1")
  quick = compiling.jit(fn)(x)
  monkeypatch.setenv(compiling.QUICK_COMPILE_ENV, "0")
  default = compiling.jit(fn)(x)
  np.testing.assert_allclose(quick, default, rtol=1e-6)
  assert compiling.QUICK_COMPILE.items() <= seen[0]["compiler_options"].items()
  assert not compiling.QUICK_COMPILE.keys() & seen[1]["compiler_options"].keys()


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU options")
def test_given_compiler_options_override_the_defaults():
  with pytest.raises(Exception, match="xla_cpu_scheduler_type"):
    compiling.jit(lambda x: x + 1, compiler_options={"xla_cpu_scheduler_type": "NOT_A_SCHEDULE"})(
        jnp.ones(2))


@pytest.mark.skipif(compiling._malloc_trim is None, reason="libc without malloc_trim")
def test_memory_is_released_after_each_compile(monkeypatch):
  calls = []
  monkeypatch.setattr(compiling, "_malloc_trim", calls.append)
  assert compiling.release_compiler_memory()
  compiling.jit(lambda x: x * 3.0 - 0.25)(np.ones(5, np.float32))  # a new program: one compile
  assert calls == [0]
  compiling.jit(lambda x: x * 3.0 - 0.25)  # only building a jit compiles nothing
  assert calls == [0]
