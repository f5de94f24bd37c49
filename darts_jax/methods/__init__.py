"""DARTS-family methods by name: ``methods.get('gdas', options)`` builds a ``Method`` from the
config's ``method_options``; each method registers itself in a file of its own."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from darts_jax.methods.base import Method, after_warmup, constant, linear, softmax_all

Builder = Callable[[Mapping[str, Any]], Method]
_BUILDERS: dict[str, tuple[Builder, dict]] = {}


def register(name: str, **defaults) -> Callable[[Builder], Builder]:
  """Registers ``builder(options) -> Method`` under ``name``; ``defaults`` are its options (the
  config's ``method_options`` override them; an option the method does not know is an error)."""
  def decorator(builder: Builder) -> Builder:
    if name in _BUILDERS:
      raise ValueError(f"method {name!r} is already registered")
    _BUILDERS[name] = (builder, dict(defaults))
    return builder
  return decorator


def names() -> list[str]:
  return sorted(_BUILDERS)


def defaults(name: str) -> dict:
  """The options of method ``name`` with their default values."""
  return dict(_BUILDERS[name][1])


def get(name: str, options: Mapping[str, Any] | None = None) -> Method:
  """The method ``name`` built with ``options`` over its defaults."""
  if name not in _BUILDERS:
    close = difflib.get_close_matches(name, names(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown method {name!r}{hint} Known: {', '.join(names())}")
  builder, known = _BUILDERS[name]
  options = dict(options or {})
  unknown = sorted(set(options) - set(known))
  if unknown:
    raise ValueError(f"method {name!r} has no option(s) {unknown}; its options: {sorted(known)}")
  return builder({**known, **options})


@register("darts")
def _darts(options) -> Method:
  """DARTS (Liu et al., 2019): softmax relaxation; first or second order by ``config.architect``."""
  del options
  return Method("darts")


__all__ = ["Method", "after_warmup", "constant", "get", "linear", "names", "register", "softmax_all", "defaults"]

from darts_jax.methods import sdarts  # noqa: E402,F401  (registers sdarts_rs, sdarts_adv)
from darts_jax.methods import drnas  # noqa: E402,F401  (registers drnas)
from darts_jax.methods import fair_darts  # noqa: E402,F401  (registers fair_darts)
from darts_jax.methods import beta_darts  # noqa: E402,F401  (registers beta_darts)
from darts_jax.methods import snas  # noqa: E402,F401  (registers snas)
from darts_jax.methods import gdas  # noqa: E402,F401  (registers gdas)
from darts_jax.methods import pc_darts  # noqa: E402,F401  (registers pc_darts)
from darts_jax.methods import darts_minus  # noqa: E402,F401  (registers darts_minus)
from darts_jax.methods import pdarts  # noqa: E402,F401  (registers pdarts)
