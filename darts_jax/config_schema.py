"""Every experiment's config checked whole before any work: field names, types, ranges, registry names.

A schema is a dict of field name -> check, or -> a nested schema for a section. A check returns what is
wrong with a value (``'must be >= 1'``) or None; a section may also be a function of the whole config
(the network fields depend on the search space). ``check(config, schema)`` collects every problem
and raises one ``ConfigError`` naming each field, what is wrong and how to fix it; an unknown field
names the closest known one and lists its section's fields.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], "str | None"]


class ConfigError(ValueError):
  """A config that cannot run; the message names every bad field."""


# ----------------------------------------------------------------------------------------------
# Checks.


def integer(low: int | None = None, high: int | None = None) -> Check:
  def check(value):
    if isinstance(value, bool) or not isinstance(value, int):
      return f"must be an integer, got {value!r}"
    if low is not None and value < low:
      return f"must be >= {low}, got {value}"
    if high is not None and value > high:
      return f"must be <= {high}, got {value}"
    return None
  return check


def number(low: float | None = None, high: float | None = None, *, above: bool = False,
           below: bool = False) -> Check:
  """A finite number in ``[low, high]``; ``above``/``below`` make the bounds strict."""
  def check(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      return f"must be a number, got {value!r}"
    if not math.isfinite(value):
      return f"must be finite, got {value}"
    if low is not None and (value <= low if above else value < low):
      return f"must be {'>' if above else '>='} {low}, got {value}"
    if high is not None and (value >= high if below else value > high):
      return f"must be {'<' if below else '<='} {high}, got {value}"
    return None
  return check


POSITIVE = number(0, above=True)
NON_NEGATIVE = number(0)
FRACTION = number(0, 1, above=True)  # (0, 1]
PROBABILITY = number(0, 1, below=True)  # [0, 1)


def boolean(value):
  return None if isinstance(value, bool) else f"must be True or False, got {value!r}"


def text(value):
  return None if isinstance(value, str) else f"must be a string, got {value!r}"


def one_of(names: Callable[[], Any] | tuple, what: str = "") -> Check:
  """A name from a registry (``names`` may be a function, read when the check runs)."""
  def check(value):
    known = sorted(names() if callable(names) else names)
    if value in known:
      return None
    close = difflib.get_close_matches(str(value), [str(k) for k in known], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what or 'value'} {value!r}{hint} Known: {', '.join(map(str, known))}"
  return check


def registered_op(value):
  """An op name in the registry (``darts_jax.ops``), with the way to add one when it is not."""
  from darts_jax import ops  # (ops imports nothing of ours; imported late to keep this module light)
  if value in ops.names():
    return None
  close = difflib.get_close_matches(str(value), ops.names(), n=1)
  hint = f"; did you mean {close[0]!r}?" if close else "."
  return (f"has unknown op {value!r}{hint} Known ops: {', '.join(ops.names())}. A new op is "
          "registered with @darts_jax.ops.register(name) in a module of yours, named with "
          "--config.ops_module=<module>")


def sequence_of(item: Check) -> Check:
  def check(value):
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
      return f"must be a tuple, got {value!r}"
    problems = [p for p in map(item, value) if p]
    return problems[0] if problems else None
  return check


def keyword_arguments(function: Callable, *, exclude: tuple[str, ...]) -> dict[str, Check] | None:
  """A schema for the keyword arguments of ``function`` (a network builder): booleans where the
  default is one, positive integers where it is an int or None, strings where it is a string."""
  schema = {}
  if inspect.isclass(function):
    function = function.__init__
  parameters = inspect.signature(function).parameters.items()
  if any(p.kind == p.VAR_KEYWORD for _, p in parameters):
    return None  # the builder passes its keywords on: nothing to check here
  for name, parameter in parameters:
    if name in exclude or parameter.kind == parameter.VAR_POSITIONAL:
      continue
    default = parameter.default
    if isinstance(default, bool):
      schema[name] = boolean
    elif isinstance(default, str):
      schema[name] = text
    else:
      schema[name] = integer(1)
  return schema


# ----------------------------------------------------------------------------------------------
# Checking.


def _keys(section) -> list[str]:
  return list(section.keys()) if isinstance(section, Mapping) or hasattr(section, "keys") else []


def _problems(section, schema, config, path: str) -> list[str]:
  if callable(schema) and not isinstance(schema, Mapping):
    schema = schema(config)
  if schema is None:  # a section whose fields cannot be known (an unknown space is named elsewhere)
    return []
  problems = []
  known = list(schema)
  for key in _keys(section):
    name = f"{path}{key}"
    if key not in schema:
      close = difflib.get_close_matches(key, known, n=1)
      hint = f"; did you mean {path}{close[0]}?" if close else ""
      problems.append(f"unknown field {name}{hint} The {path.rstrip('.') or 'top'} level has: "
                      f"{', '.join(sorted(known))}")
      continue
    rule, value = schema[key], section[key]
    if rule is None:  # a section whose fields cannot be known here
      continue
    if isinstance(rule, Mapping) or getattr(rule, "is_section", False):
      if not _keys(value) and not isinstance(value, Mapping) and not hasattr(value, "keys"):
        problems.append(f"{name} must be a section, got {value!r}")
      else:
        problems.extend(_problems(value, rule, config, f"{name}."))
    else:
      problem = rule(value)
      if problem:
        problems.append(f"{name} {problem}")
  return problems


def section(schema_of_config: Callable[[Any], dict]) -> Callable[[Any], dict]:
  """Marks a function of the whole config that returns a section's schema."""
  schema_of_config.is_section = True
  return schema_of_config


def check(config, schema: dict, *, what: str = "config") -> None:
  """Raises ``ConfigError`` listing every problem of ``config`` against ``schema``."""
  problems = _problems(config, schema, config, "")
  if problems:
    listing = "\n".join(f"  - {p}" for p in problems)
    raise ConfigError(f"the {what} has {len(problems)} problem{'s' * (len(problems) > 1)}:\n"
                      f"{listing}\nFix them with --config.<field>=<value> or in the config file.")


def import_ops_modules(config) -> tuple[str, ...]:
  """Imports the modules named in ``config.ops_module`` (comma-separated), which register their
  ops on import; returns their names. A module that cannot be imported is a ConfigError."""
  names = tuple(n.strip() for n in str(config.get("ops_module", "") or "").split(",") if n.strip())
  for name in names:
    try:
      importlib.import_module(name)
    except ImportError as e:
      raise ConfigError(f"ops_module {name!r} cannot be imported ({e}). It must be importable "
                        "from the current folder or the Python path, e.g. a file my_ops.py run "
                        "as --config.ops_module=my_ops") from None
  return names
