"""A run's output folder, checked before anything is written to it.

``check(workdir, config)`` makes sure the folder can be written and that a run already there used
the same config (``<workdir>/config.json``, written by ``record`` once the run's inputs are found).
A mismatch names the differing fields and leaves the folder as it was: resuming someone else's
checkpoints under a new config fails deep inside the restore, or silently mixes two experiments.
"""

from __future__ import annotations

import json
import os
from typing import Any

CONFIG_FILE = "config.json"
# Fields that say where and how fast data is read, not what a run computes: they may change between
# a run and its resumption (a moved dataset, another machine).
OPERATIONAL = ("data_dir", "download", "prefetch", "threads", "workers")


class WorkdirError(RuntimeError):
  """A workdir that cannot hold this run."""


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
  """``{dotted.path: value}`` of a ConfigDict or dict, tuples as lists (as JSON stores them)."""
  items = config.items() if hasattr(config, "items") else []
  flat = {}
  for key, value in items:
    path = f"{prefix}{key}"
    if hasattr(value, "items"):
      flat.update(flatten(value, f"{path}."))
    else:
      flat[path] = list(value) if isinstance(value, tuple) else value
  return flat


def _writable(path: str) -> bool:
  while not os.path.exists(path):
    parent = os.path.dirname(path)
    if parent == path:
      return False
    path = parent
  return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def differences(stored: dict, current: dict) -> list[str]:
  """``'field: stored -> current'`` for every field that differs, operational fields excepted."""
  lines = []
  for key in sorted(set(stored) | set(current)):
    if key.rsplit(".", 1)[-1] in OPERATIONAL:
      continue
    old, new = stored.get(key, "(absent)"), current.get(key, "(absent)")
    if old != new:
      lines.append(f"{key}: {old!r} -> {new!r}")
  return lines


def check(workdir: str, config: Any, *, what: str = "run") -> None:
  """Raises ``WorkdirError`` (changing nothing) when ``workdir`` cannot be written or holds a
  ``what`` of another config."""
  workdir = os.path.abspath(workdir)
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise WorkdirError(f"--workdir {workdir} is a file, not a folder; name a folder")
  if not _writable(workdir):
    raise WorkdirError(f"cannot write to --workdir {workdir} (permission denied or read-only); "
                       "choose a folder you can write to")
  current = json.loads(json.dumps(flatten(config), default=str))
  path = os.path.join(workdir, CONFIG_FILE)
  if os.path.exists(path):
    try:
      with open(path) as f:
        stored = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
      raise WorkdirError(f"{path} is unreadable ({e}); use a new --workdir") from None
    changed = differences(stored, current)
    if changed:
      listing = "\n".join(f"  {line}" for line in changed[:20])
      more = f"\n  ... and {len(changed) - 20} more" if len(changed) > 20 else ""
      raise WorkdirError(f"--workdir {workdir} holds a {what} of another config; the fields that "
                         f"differ (stored -> now):\n{listing}{more}\nUse a new --workdir, or rerun "
                         "with the stored config to resume it.")


def record(workdir: str, config: Any) -> None:
  """Creates ``workdir`` and writes ``config.json`` there unless a run already did."""
  path = os.path.join(workdir, CONFIG_FILE)
  if os.path.exists(path):
    return
  os.makedirs(workdir, exist_ok=True)
  with open(path, "w") as f:
    json.dump(json.loads(json.dumps(flatten(config), default=str)), f, indent=1, sort_keys=True)
