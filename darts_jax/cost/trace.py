"""Records the calls of chosen module classes while a forward pass is traced (shapes only, no compute).

Analytic cost counts and lookup-table sites need each layer's input and output shapes; tracing the
forward under ``jax.eval_shape`` with the classes' ``__call__`` wrapped gives them for any network.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import jax
from flax import nnx


@dataclasses.dataclass(frozen=True)
class Call:
  """One traced call: the module (a traced copy), its positional array inputs and its output."""

  module: nnx.Module
  inputs: tuple[Any, ...]
  output: Any


@contextlib.contextmanager
def recording(*classes: type) -> Iterator[list[Call]]:
  """Within the block, every call of an instance of ``classes`` is appended to the yielded list."""
  calls: list[Call] = []
  originals = {cls: cls.__call__ for cls in classes}

  def wrap(original):
    def recorded(self, *args, **kwargs):
      output = original(self, *args, **kwargs)
      calls.append(Call(self, args, output))
      return output
    return recorded

  for cls, original in originals.items():
    cls.__call__ = wrap(original)
  try:
    yield calls
  finally:
    for cls, original in originals.items():
      cls.__call__ = original


def inference(model: nnx.Module):
  """``(fn, state)`` with ``fn(state, x)`` the model's inference forward (BatchNorm on running
  statistics), a pure function to jit, lower or trace."""
  graphdef, state = nnx.split(nnx.view(model, use_running_average=True, raise_if_not_found=False))
  return (lambda s, x: nnx.merge(graphdef, s, copy=True)(x)), state


def traced_calls(model: nnx.Module, input_shape: tuple[int, ...], *classes: type) -> list[Call]:
  """The calls of ``classes`` in one inference forward of ``model`` on a float32 input of that shape."""
  fn, state = inference(model)
  with recording(*classes) as calls:
    jax.eval_shape(fn, state, jax.ShapeDtypeStruct(input_shape, jax.numpy.float32))
  return calls
