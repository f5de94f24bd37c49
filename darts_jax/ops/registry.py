"""The op registry: factories by name (``register`` / ``get`` / ``names`` / ``temporary_ops``).

Every op is built by a factory ``(channels, stride, *, affine, rngs) -> nnx.Module`` that keeps
H x W at stride 1 and halves it (rounding up) at stride 2. The supernet calls factories with
``affine=False``, fixed networks with ``affine=True``: one definition serves both.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator

from flax import nnx

OpFactory = Callable[..., nnx.Module]

_REGISTRY: dict[str, OpFactory] = {}


class UnknownOpError(KeyError):
  """An op name that is not in the registry."""

  def __str__(self) -> str:
    return str(self.args[0])


def register(name: str) -> Callable[[OpFactory], OpFactory]:
  """Decorator registering an op factory under ``name``; a taken name raises."""

  def decorator(factory: OpFactory) -> OpFactory:
    if name in _REGISTRY:
      raise ValueError(f"op {name!r} is already registered; pick another name or use "
                       "ops.temporary_ops() to override it in a test")
    _REGISTRY[name] = factory
    return factory

  return decorator


def get(name: str) -> OpFactory:
  """The factory registered as ``name``; unknown names list the known ones and the closest."""
  try:
    return _REGISTRY[name]
  except KeyError:
    close = difflib.get_close_matches(name, _REGISTRY, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownOpError(f"unknown op {name!r}.{hint} Known ops: {', '.join(names())}. "
                         "Register new ops with @darts_jax.ops.register(name).") from None


def names() -> list[str]:
  """All registered op names, sorted."""
  return sorted(_REGISTRY)


def check_known(op_names) -> None:
  """Raises UnknownOpError for the first name in ``op_names`` that is not registered."""
  for name in op_names:
    get(name)


@contextlib.contextmanager
def temporary_ops(**factories: OpFactory) -> Iterator[None]:
  """Registers ``name=factory`` pairs for the duration of a ``with`` block (overriding allowed)."""
  saved = dict(_REGISTRY)
  _REGISTRY.update(factories)
  try:
    yield
  finally:
    _REGISTRY.clear()
    _REGISTRY.update(saved)
