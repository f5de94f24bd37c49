"""Convolution kernels, one form per backend, behind one op definition (``blocks.Conv``).

  cpu.py   shaped for XLA:CPU: dense convs as one matrix product over stacked windows, depthwise
           convs as a ``lax.scan`` over the kernel taps; no ``convolution`` op in the program
  lax.py   ``lax.conv_general_dilated``: the backend's own convolutions (cuDNN, TPU)

``conv2d`` stages both with ``jax.lax.platform_dependent``: the program keeps the CPU form where it
is lowered for CPU and the ``lax`` form elsewhere, so one traced function serves every backend (also
an AOT-lowered or cached one). ``conv_implementation`` overrides the choice for tests and
benchmarks.
"""

from __future__ import annotations

import functools

import jax

from darts_jax.ops.kernels import cpu, lax

IMPLEMENTATIONS = ("auto", "cpu", "lax")

# A jit-cache-sensitive context, as jax.default_matmul_precision is: a function traced under one
# value is traced again under another, never served from a cache filled under the other.
_IMPLEMENTATION = jax.make_user_context(default_value="auto")


def conv_implementation(impl: str):
  """Context manager: the convolutions traced inside it use ``impl``, one of

  - ``"auto"`` (the default): the CPU form when lowered for CPU, ``lax`` on GPU and TPU;
  - ``"cpu"``: the CPU form on every backend;
  - ``"lax"``: ``lax.conv_general_dilated`` on every backend.

  It is read when a function is traced, and jax's caches key on it: a jitted function called
  under another value is traced and compiled again.
  """
  _check(impl)
  return _IMPLEMENTATION(impl)


def set_conv_implementation(impl: str) -> None:
  """Sets the implementation for the whole process (outside any ``conv_implementation`` block)."""
  _check(impl)
  _IMPLEMENTATION.set_global(impl)


def current_conv_implementation() -> str:
  """The implementation convolutions traced now use."""
  return _IMPLEMENTATION.value


def _check(impl: str) -> None:
  if impl not in IMPLEMENTATIONS:
    raise ValueError(f"unknown conv implementation {impl!r}; choose one of {IMPLEMENTATIONS}")


def conv2d(x: jax.Array, kernel: jax.Array, *, stride: int, padding: int, dilation: int,
           depthwise: bool) -> jax.Array:
  """NHWC ``x`` convolved with the HWIO ``kernel`` (``[k, k, 1, C]`` when ``depthwise``), zero
  padding ``padding`` on every side, by the implementation in effect (``conv_implementation``)."""
  geometry = dict(stride=stride, padding=padding, dilation=dilation, depthwise=depthwise)
  impl = current_conv_implementation()
  if impl == "cpu":
    return cpu.conv2d(x, kernel, **geometry)
  if impl == "lax":
    return lax.conv2d(x, kernel, **geometry)
  return jax.lax.platform_dependent(x, kernel, cpu=functools.partial(cpu.conv2d, **geometry),
                                    default=functools.partial(lax.conv2d, **geometry))
