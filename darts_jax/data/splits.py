"""TFDS-style split strings over in-memory arrays: ``'train'``, ``'train[:50%]'``,
``'train[25000:]'``, ``'train[:10%]+test'``. Slices keep the source's order, so the same string
always means the same examples."""

from __future__ import annotations

import re

import numpy as np

_PART = re.compile(r"^(\w+)(?:\[(-?\d*)(%?):(-?\d*)(%?)\])?$")


def indices(spec: str, sizes: dict[str, int]) -> list[tuple[str, np.ndarray]]:
  """``[(source split, example indices), ...]`` for a split string; percentages round to nearest."""
  parts = []
  for part in spec.replace(" ", "").split("+"):
    match = _PART.match(part)
    if not match:
      raise ValueError(f"bad split string {spec!r}: expected e.g. 'train', 'train[:50%]', "
                       "'train[100:200]', joined by '+'")
    name, start, start_pct, stop, stop_pct = match.groups()
    if name not in sizes:
      raise ValueError(f"split string {spec!r} names {name!r}; this dataset has {sorted(sizes)}")
    n = sizes[name]
    bound = lambda text, pct: (None if not text else
                               round(int(text) * n / 100) if pct else int(text))
    parts.append((name, np.arange(n)[slice(bound(start, start_pct), bound(stop, stop_pct))]))
  return parts


def select(arrays: dict[str, tuple[np.ndarray, np.ndarray]], spec: str):
  """``(images, labels)`` of the examples a split string names, concatenated in order."""
  parts = indices(spec, {name: len(labels) for name, (_, labels) in arrays.items()})
  images = np.concatenate([arrays[name][0][i] for name, i in parts])
  labels = np.concatenate([arrays[name][1][i] for name, i in parts])
  return images, labels
