"""Rank correlations (Spearman rho, Kendall tau-b) in numpy, and the NB201 proxy-fidelity table."""

from __future__ import annotations

import numpy as np

from darts_jax.tabular.nb201 import DATASETS, NB201Tables


def rankdata(x) -> np.ndarray:
  """Ranks 1..n, ties sharing their average rank (as scipy.stats.rankdata's default)."""
  x = np.asarray(x, dtype=float)
  order = np.argsort(x, kind="stable")
  sorted_x = x[order]
  starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
  ends = np.r_[starts[1:], len(x)]
  ranks = np.empty(len(x))
  ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
  return ranks


def spearman(x, y) -> float:
  """Spearman's rho: Pearson correlation of the (tie-averaged) ranks."""
  return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


def _tied_pairs(sorted_values: np.ndarray) -> int:
  """Pairs of equal values in an array sorted so that equal values are adjacent."""
  counts = np.diff(np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1], True]))
  return int((counts * (counts - 1) // 2).sum())


def _inversions(values: np.ndarray) -> int:
  """Pairs i < j with values[i] > values[j], by merge sort in O(n log n)."""
  values, count, width = values.copy(), 0, 1
  while width < len(values):
    merged = []
    for lo in range(0, len(values), 2 * width):
      left, right = values[lo:lo + width], values[lo + width:lo + 2 * width]
      # Each right element jumps over the left elements strictly greater than it.
      count += int((len(left) - np.searchsorted(left, right, side="right")).sum())
      merged.append(np.sort(np.concatenate([left, right]), kind="stable"))
    values, width = np.concatenate(merged), 2 * width
  return count


def kendall_tau(x, y) -> float:
  """Kendall's tau-b (tie-corrected), Knight's O(n log n) algorithm."""
  x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
  order = np.lexsort((y, x))
  x, y = x[order], y[order]
  pairs = len(x) * (len(x) - 1) // 2
  x_ties = _tied_pairs(x)
  same_x = np.r_[True, x[1:] != x[:-1]]
  joint_ties = _tied_pairs(np.cumsum(same_x) * (len(y) + 1) + rankdata(y))
  y_ties = _tied_pairs(np.sort(y))
  discordant = _inversions(y)
  concordant_minus_discordant = pairs - x_ties - y_ties + joint_ties - 2 * discordant
  return float(concordant_minus_discordant / np.sqrt((pairs - x_ties) * (pairs - y_ties)))


def proxy_fidelity(tables: NB201Tables) -> list[tuple[str, str, float, float]]:
  """``(dataset, proxy, tau, rho)`` of each 12-epoch accuracy against the 200-epoch test accuracy."""
  rows = []
  for dataset in DATASETS:
    final = tables.column("test_accuracy", dataset, 200)
    for metric in ("valid_accuracy", "test_accuracy"):
      proxy = tables.column(metric, dataset, 12)
      rows.append((dataset, f"12-epoch {metric}", kendall_tau(proxy, final), spearman(proxy, final)))
  return rows


def markdown(rows) -> str:
  """``proxy_fidelity`` rows as a markdown table."""
  lines = ["| dataset | proxy (vs 200-epoch test accuracy, all 15,625 cells) | Kendall tau | "
           "Spearman rho |", "|---|---|---|---|"]
  lines += [f"| {dataset} | {proxy} | {tau:.3f} | {rho:.3f} |" for dataset, proxy, tau, rho in rows]
  return "\n".join(lines)
