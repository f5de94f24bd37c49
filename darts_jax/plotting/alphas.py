"""Mixing weights as pictures: what each alpha row (an edge) and column (an op) is, a heat map
of one epoch's weights, and every edge's weights over the epochs.

A record's ``alphas`` field is ``{label: [edges][ops]}`` without names; the names come from the
space the label belongs to (``normal``/``reduce``: the DARTS CNN cell, ``cell``: NAS-Bench-201),
with the space's default op set when the column count matches it, or from a record's optional
``op_names`` field (``{label: [names]}`` or one list for all labels)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from darts_jax.plotting import output, style
from darts_jax.spaces import NB201_OPS, PRIMITIVES

DARTS_INPUTS = ("c_{k-2}", "c_{k-1}")


@dataclasses.dataclass(frozen=True)
class Layout:
  """Names for the rows and columns of one label's alphas, and where each edge's subplot goes."""

  edges: tuple[tuple[str, str], ...]  # (source, target) state names, one per alpha row
  op_names: tuple[str, ...]
  grid: tuple[tuple[int, int], ...]  # (row, column) of each edge's subplot

  def edge_name(self, e: int, *, math_text: bool = False) -> str:
    source, target = self.edges[e]
    if not target:
      return source
    if math_text:
      source, target = (f"${s}$" if "_" in s else s for s in (source, target))
    return f"{source} → {target}"


def _triangle(num_edges: int, first: int) -> int | None:
  """n with ``first + (first+1) + ... + (first+n-1) == num_edges``, if there is one."""
  n, total = 0, 0
  while total < num_edges:
    total += first + n
    n += 1
  return n if total == num_edges else None


def _darts_state(i: int) -> str:
  return DARTS_INPUTS[i] if i < 2 else str(i - 2)


def layout(label: str, num_edges: int, num_ops: int,
           op_names: Sequence[str] | None = None) -> Layout:
  """The layout of ``label``'s ``[num_edges, num_ops]`` alphas (see the module docstring)."""
  steps, nodes = _triangle(num_edges, 2), _triangle(num_edges, 1)
  if label in ("normal", "reduce") and steps:  # darts_cnn: node j mixes states 0..j+1
    edges = [(_darts_state(i), str(j)) for j in range(steps) for i in range(j + 2)]
    grid = [(j, i) for j in range(steps) for i in range(j + 2)]
    defaults = PRIMITIVES
  elif label == "cell" and nodes:  # nb201: node j mixes nodes 0..j-1; 0 is the input
    name = lambda i: "in" if i == 0 else "out" if i == nodes else str(i)
    edges = [(name(i), name(j)) for j in range(1, nodes + 1) for i in range(j)]
    grid = [(j - 1, i) for j in range(1, nodes + 1) for i in range(j)]
    defaults = NB201_OPS
  else:
    columns = math.ceil(math.sqrt(num_edges))
    edges = [(f"edge {e}", "") for e in range(num_edges)]
    grid = [divmod(e, columns) for e in range(num_edges)]
    defaults = ()
  if op_names is None or len(op_names) != num_ops:
    op_names = defaults if len(defaults) == num_ops else [f"op {k}" for k in range(num_ops)]
  return Layout(tuple(edges), tuple(op_names), tuple(grid))


def record_layouts(record: dict) -> dict[str, Layout]:
  """``{label: Layout}`` for a metrics record's ``alphas`` (and optional ``op_names``)."""
  names = record.get("op_names")
  layouts = {}
  for label, weights in record.get("alphas", {}).items():
    shape = np.shape(weights)
    given = names.get(label) if isinstance(names, dict) else names
    layouts[label] = layout(label, shape[0], shape[1], given)
  return layouts


def heatmap(weights, layout_: Layout, title: str) -> Figure:
  """One epoch's ``[edges, ops]`` mixing weights, every cell annotated with its value."""
  weights = np.asarray(weights, dtype=float)
  edges, ops = weights.shape
  fig = output.figure(1.6 + 0.75 * ops, 1.4 + 0.32 * edges)
  ax = fig.add_subplot()
  image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=max(1e-9, weights.max()),
                    aspect="auto")
  ax.set_xticks(range(ops), layout_.op_names, rotation=40, ha="right", fontsize=8)
  ax.set_yticks(range(edges), [layout_.edge_name(e, math_text=True) for e in range(edges)],
                fontsize=8)
  middle = weights.max() / 2
  for e in range(edges):
    for k in range(ops):
      ax.text(k, e, f"{weights[e, k]:.2f}", ha="center", va="center", fontsize=6.5,
              color="black" if weights[e, k] > middle else "white", in_layout=False)
  ax.set_title(title, fontsize=10)
  fig.colorbar(image, ax=ax, shrink=0.8)
  return fig


def evolution(history: Sequence[dict], label: str, title: str) -> Figure:
  """Every edge's mixing weights over the epochs: one subplot per edge, one line per op."""
  records = [r for r in history if label in r.get("alphas", {})]
  epochs = [r["epoch"] for r in records]
  weights = np.asarray([r["alphas"][label] for r in records], dtype=float)  # [epochs, edges, ops]
  layout_ = record_layouts(records[-1])[label]
  rows = 1 + max(r for r, _ in layout_.grid)
  columns = 1 + max(c for _, c in layout_.grid)
  used = set(layout_.grid)
  corner = (0, columns - 1) not in used  # a triangular grid's empty corner holds the legend
  legend_width = 0.0 if corner else 1.6
  # Inches, fixed margins: no layout engine, so that many subplots draw fast.
  width, height = 0.8 + 2.1 * columns + legend_width, 1.1 + 1.75 * rows
  fig = output.figure(width, height, layout=None)
  axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False, gridspec_kw={
      "left": 0.65 / width, "right": 1 - (0.15 + legend_width) / width,
      "bottom": 0.55 / height, "top": 1 - 0.55 / height, "wspace": 0.12, "hspace": 0.3})
  for r in range(rows):
    for c in range(columns):
      if (r, c) not in used:
        axes[r, c].set_axis_off()
  colors = style.op_colors(layout_.op_names)
  lines = []
  for e, (r, c) in enumerate(layout_.grid):
    ax = axes[r, c]
    for k, op in enumerate(layout_.op_names):
      marker = "." if len(epochs) < 20 else None
      lines.append(ax.plot(epochs, weights[:, e, k], color=colors[op], marker=marker,
                           markersize=3, linewidth=1.2, label=op)[0])
    ax.set_title(layout_.edge_name(e, math_text=True), fontsize=9)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if epochs[0] == epochs[-1]:  # one epoch: matplotlib's default span around it is +-0.05
      ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    ax.grid(alpha=0.3)
  for ax in axes[-1]:
    ax.set_xlabel("epoch", fontsize=8)
  for ax in axes[:, 0]:
    ax.set_ylabel("weight", fontsize=8)
  handles, names = lines[:len(layout_.op_names)], layout_.op_names
  if corner:
    axes[0, -1].legend(handles, names, loc="upper right", fontsize=8, title="op",
                       ncols=2 if len(names) > 6 and columns > 3 else 1)
  else:
    fig.legend(handles, names, loc="center right", fontsize=8, title="op")
  fig.suptitle(title, fontsize=11)
  return fig
