"""Writing a matplotlib figure as PNG and SVG, and rendering it to pixels, without pyplot.

Figures are plain ``matplotlib.figure.Figure`` objects drawn by the Agg canvas, so the library never
touches matplotlib's global backend (a notebook or a GUI session keeps its own)."""

from __future__ import annotations

import os

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FORMATS = ("png", "svg")


def figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
  fig = Figure(figsize=(width, height), layout=layout)
  FigureCanvasAgg(fig)
  return fig


def save(fig: Figure, stem: str) -> list[str]:
  """Writes ``<stem>.png`` and ``<stem>.svg`` (SVG text stays text, so it can be searched and
  edited); returns the paths."""
  os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
  paths = []
  with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "darts_jax"}):
    for fmt in FORMATS:
      path = f"{stem}.{fmt}"
      fig.savefig(path, dpi=150, metadata={"Date": None} if fmt == "svg" else None)
      paths.append(path)
  return paths


def pixels(fig: Figure) -> np.ndarray:
  """The figure as an ``(height, width, 3)`` uint8 array."""
  canvas = FigureCanvasAgg(fig)
  canvas.draw()
  return np.asarray(canvas.buffer_rgba())[..., :3].copy()
