"""Loss and accuracy over the epochs (train/val for a search, train/test(/val) for retraining), and
the learning rate, from a run's ``metrics.jsonl`` records."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from darts_jax.plotting import output

PANELS = (("_loss", "loss"), ("_acc", "accuracy"))
SPLIT_STYLES = {"train": ("#1f77b4", "-"), "val": ("#d95f02", "--"), "test": ("#2ca02c", ":")}


def _series(history: Sequence[dict], key: str):
  points = [(r["epoch"], r[key]) for r in history if isinstance(r.get(key), (int, float))]
  return [e for e, _ in points], [v for _, v in points]


def figure(history: Sequence[dict], title: str) -> Figure:
  """One panel for the ``*_loss`` fields, one for ``*_acc``, and one for ``lr`` when recorded."""
  keys = list(dict.fromkeys(k for r in history for k in r))
  panels = [(name, [k for k in keys if k.endswith(suffix)]) for suffix, name in PANELS]
  panels = [(name, fields) for name, fields in panels if fields]
  if any("lr" in r for r in history):
    panels.append(("learning rate", ["lr"]))
  fig = output.figure(4.2 * max(len(panels), 1), 3.4)
  marker = "o" if len(history) < 20 else None
  for i, (name, fields) in enumerate(panels):
    ax = fig.add_subplot(1, len(panels), i + 1)
    for key in fields:
      split = key.split("_")[0]
      color, line = SPLIT_STYLES.get(split, (None, "-"))
      epochs, values = _series(history, key)
      ax.plot(epochs, values, color=color, linestyle=line, marker=marker, markersize=3,
              label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(name)
    ax.grid(alpha=0.3)
    if len(fields) > 1:
      ax.legend(fontsize=8)
  fig.suptitle(title)
  return fig
