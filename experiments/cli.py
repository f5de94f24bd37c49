"""What every experiment main shares: errors for people, and the persistent compilation cache.

``cli.run(main)`` replaces ``absl.app.run(main)``:
- a bad flag or config override (``--config.epochs=abc``, an unknown ``--config.foo``) and every
  expected failure (bad config, missing data, unknown op, bad genotype, corrupt or mismatched
  checkpoint or workdir, NaN loss) print one message on stderr and exit 1, without a traceback;
  ``--verbosity=1`` or ``DARTS_JAX_TRACEBACK=1`` shows the traceback too;
- JAX keeps compiled programs between runs in ``--compilation_cache`` (default: the user's cache
  folder, ``$XDG_CACHE_HOME/darts_jax/jax`` or ``~/.cache/darts_jax/jax``; ``''`` turns it off).
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import sys

from absl import app, flags
from ml_collections import config_flags

from darts_jax import (checkpoint, config_schema, data, genotypes, ops, plotting, pytorch_weights,
                       workdir)

EXPECTED_ERRORS = (config_schema.ConfigError, data.DatasetUnavailableError, data.CorruptDataError,
                   genotypes.GenotypeError, checkpoint.CheckpointError, ops.UnknownOpError,
                   plotting.PlotError, pytorch_weights.StateDictError, workdir.WorkdirError,
                   FloatingPointError)


def _default_cache() -> str:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "darts_jax", "jax")


_CACHE = flags.DEFINE_string(
    "compilation_cache", None,
    "Folder where JAX keeps compiled programs between runs ('' turns it off). Default: "
    "$JAX_COMPILATION_CACHE_DIR if set, else the user's cache folder (~/.cache/darts_jax/jax).")


def _traceback_wanted(argv=None) -> bool:
  """``DARTS_JAX_TRACEBACK=1``, or ``--verbosity`` >= 1 (read from ``argv`` before flags parse)."""
  if os.environ.get("DARTS_JAX_TRACEBACK", "") not in ("", "0"):
    return True
  if argv is not None:
    return any(re.fullmatch(r"--?(verbosity|v)=([1-9]\d*)", a) for a in argv[1:])
  return flags.FLAGS.is_parsed() and flags.FLAGS["verbosity"].value >= 1


def fail(message: str, code: int = 1):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(code)


def _config_flags(argv, configs: dict | None = None) -> list[tuple[str, str, str]]:
  """``(flag, dotted field, argument)`` of each ``--<config flag>.<field>=...`` in ``argv``."""
  found = []
  for argument in argv[1:]:
    match = re.match(r"--?([A-Za-z_]\w*)\.([\w.]+)(=.*)?$", argument)
    if match and (match[1] in configs if configs else match[1] in flags.FLAGS):
      found.append((match[1], match[2], argument))
  return found


def _load_config(flag: str, default: str, argv):
  """The config ``--<flag>=path[:arg]`` (or ``default``) names, loaded as config_flags would."""
  spec = default
  for argument in argv[1:]:
    if argument.startswith(f"--{flag}="):
      spec = argument.split("=", 1)[1]
  path, _, arg = spec.partition(":")
  module_spec = importlib.util.spec_from_file_location("_checked_config", path)
  if module_spec is None or not os.path.isfile(path):
    return None
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


_DEFAULT_PATHS: dict[str, str] = {}  # config flag name -> its default config file


def define_config(name: str, default: str, help_text: str, **kwargs):
  """``config_flags.DEFINE_config_file``, whose overrides are applied as the flag is defined (at
  import): an unknown ``--<name>.<field>`` then fails with one message naming the closest field."""
  _DEFAULT_PATHS[name] = default
  try:
    return config_flags.DEFINE_config_file(name, default, help_text, **kwargs)
  except Exception as e:  # ml_collections raises AttributeError / KeyError for unknown fields
    if _traceback_wanted(sys.argv):
      raise
    try:
      config = _load_config(name, default, sys.argv)
    except Exception:  # the file itself is broken: config_flags' own message says how
      config = None
    message = _unknown_field(sys.argv, {name: config}) if config is not None else None
    fail(message or f"--{name}: {str(e).strip().splitlines()[-1]}", code=2)


def _unknown_field(argv, configs: dict | None = None) -> str | None:
  """The message for the first config override naming a field its config lacks, if any."""
  for flag, field, argument in _config_flags(argv, configs):
    config = configs[flag] if configs else flags.FLAGS[flag].value
    if config is None:
      continue
    section, path = config, []
    for key in field.split("."):
      keys = list(section.keys()) if hasattr(section, "keys") else []
      if key not in keys:
        where = ".".join(path) or "top"
        close = difflib.get_close_matches(key, keys, n=1)
        hint = f" Did you mean --{flag}.{'.'.join(path + [close[0]])}?" if close else ""
        return (f"{argument.split('=')[0]} names no config field: the {where} level of --{flag} has "
                f"no field {key!r}.{hint} Its fields: {', '.join(sorted(keys))}")
      section, path = section[key], path + [key]
  return None


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except Exception as e:  # absl and ml_collections raise several types for bad flags
    if _traceback_wanted(argv):
      raise
    try:
      configs = {name: _load_config(name, path, argv) for name, path in _DEFAULT_PATHS.items()}
    except Exception:  # a broken config file: its own error below says so
      configs = {}
    message = (_unknown_field(argv, configs) if configs else None) or str(
        e).strip().splitlines()[-1]
    fail(f"{message}\n(run with --helpshort to list the flags)", code=2)


def _set_compilation_cache() -> None:
  import jax  # (imported here so that --help does not load it)
  folder = _CACHE.value
  if folder is None:
    folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or _default_cache()
  if folder:
    jax.config.update("jax_compilation_cache_dir", os.path.expanduser(folder))


def run(main, argv=None) -> None:
  """``absl.app.run(main, argv)`` with the behaviour in this module's docstring."""
  def guarded(argv):
    traceback = _traceback_wanted()
    for name in _DEFAULT_PATHS:
      try:
        flags.FLAGS[name].value.keys()
      except OSError as e:  # config_flags defers a config file's load error to its first use
        if traceback:
          raise
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        fail(f"--{name}: cannot load the config file: {lines[-1]}", code=2)
    _set_compilation_cache()
    try:
      return main(argv)
    except EXPECTED_ERRORS as e:
      if traceback:
        raise
      fail(str(e))

  app.run(guarded, argv=argv, flags_parser=_parse_flags)
