"""Cell graphs drawn by matplotlib alone (the fallback where Graphviz's ``dot`` is missing).

The layout follows ``dot``'s left-to-right one: a node's column is its longest path from the
inputs; within a column the order with the fewest edge crossings wins (the cells are small enough
to try every order). Each edge bends just enough to miss the other nodes, and each op label lies
along its own edge (rotated with it, in the op's colour) where it covers no other label or node
and as little of the other edges as it can."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.transforms import Bbox

from darts_jax.plotting import cells, output, style

COLUMN, ROW = 3.6, 1.5  # distance between columns and between nodes of a column (data units)
BOX_W, BOX_H = 0.78, 0.5  # node size
INCH = 0.8  # inches per data unit
BENDS = (0.0, 0.15, -0.15, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6)
STOPS = tuple(0.5 + sign * d for d in np.arange(0, 0.36, 0.05) for sign in (1, -1))


def _columns(graph: cells.CellGraph) -> dict[str, int]:
  column = {node.name: 0 for node in graph.nodes if node.kind == cells.INPUT}
  for node in graph.nodes:  # nodes come in topological order
    if node.kind == cells.NODE:
      column[node.name] = 1 + max(column[e.source] for e in graph.edges if e.target == node.name)
  last = 1 + max(column.values())
  for node in graph.nodes:
    if node.kind == cells.OUTPUT:
      sources = [column[e.source] for e in graph.edges if e.target == node.name]
      column[node.name] = max(last, 1 + max(sources, default=0))
  return column


def _crossings(edges, position) -> int:
  def cross(a, b, c, d):
    orient = lambda p, q, r: np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))
    return (orient(a, b, c) * orient(a, b, d) < 0) and (orient(c, d, a) * orient(c, d, b) < 0)
  segments = [(position[e.source], position[e.target]) for e in edges]
  return sum(cross(*s, *t) for s, t in itertools.combinations(segments, 2))


def layout(graph: cells.CellGraph) -> dict[str, tuple[float, float]]:
  """``{node: (x, y)}``; inputs keep their order (``c_{k-2}`` above ``c_{k-1}``)."""
  column = _columns(graph)
  groups = [[n.name for n in graph.nodes if column[n.name] == c]
            for c in range(max(column.values()) + 1)]

  def place(order):
    return {name: (c * COLUMN, ROW * ((len(group) - 1) / 2 - i))
            for c, group in enumerate(order) for i, name in enumerate(group)}

  def cost(order):
    position = place(order)
    length = sum(math.dist(position[e.source], position[e.target]) for e in graph.edges)
    return _crossings(graph.edges, position), length

  choices = [[group] if c == 0 else itertools.permutations(group) for c, group in enumerate(groups)]
  return place(min(itertools.product(*choices), key=cost))


def _curve(a, b, bend: float, n: int = 40) -> np.ndarray:
  """Points of matplotlib's ``arc3,rad=bend`` quadratic Bezier from ``a`` to ``b``."""
  a, b = np.asarray(a), np.asarray(b)
  d = b - a
  control = (a + b) / 2 + bend * np.array([d[1], -d[0]])
  t = np.linspace(0, 1, n)[:, None]
  return (1 - t) ** 2 * a + 2 * t * (1 - t) * control + t ** 2 * b


def _inside(points, center, margin: float) -> int:
  x, y = center
  return int(np.sum((np.abs(points[:, 0] - x) < BOX_W / 2 + margin)
                    & (np.abs(points[:, 1] - y) < BOX_H / 2 + margin)))


def _bend_cost(a, b, bend: float, nodes, curves) -> float:
  """Running through a node is worst, then running along an earlier curve (crossing one is
  fine); straighter is better."""
  points = _curve(a, b, bend)[4:-4]
  hits = sum(_inside(points, p, 0.12) for p in nodes)
  along = sum(max(0, np.sum(np.min(np.linalg.norm(points[:, None] - c[None], axis=-1), 1) < 0.15)
                  - 6) for c in curves)
  return 100 * hits + 5 * along + 10 * abs(bend)


def _bends(graph, position) -> list[float]:
  """Per edge, the bend of least ``_bend_cost``, edge by edge."""
  chosen, curves = [], []
  for edge in graph.edges:
    a, b = position[edge.source], position[edge.target]
    nodes = [p for name, p in position.items() if name not in (edge.source, edge.target)]
    bend = min(BENDS, key=lambda bend: _bend_cost(a, b, bend, nodes, curves))
    chosen.append(bend)
    curves.append(_curve(a, b, bend)[4:-4])
  return chosen


def _math(name: str) -> str:
  return f"${name}$" if re.fullmatch(r"\w+_\{.+\}", name) else name


def draw(graph: cells.CellGraph, label: str) -> Figure:
  """The figure of ``graph``; its patches and labels carry ids into the SVG (``node-<label>-<i>``,
  ``edge-<label>-<k>``, ``concat-<label>-<k>``, ``label-<label>-<k>`` for edge k's op)."""
  position = layout(graph)
  bends = _bends(graph, position)
  curves = [_curve(position[e.source], position[e.target], bend)
            for e, bend in zip(graph.edges, bends)]
  corners = np.array([(x + dx, y + dy) for x, y in position.values()
                      for dx in (-BOX_W / 2, BOX_W / 2) for dy in (-BOX_H / 2, BOX_H / 2)])
  drawn = np.concatenate([corners, *curves])
  (x0, y0), (x1, y1) = drawn.min(0), drawn.max(0)
  x0, x1, y0, y1 = x0 - 0.2, x1 + 0.2, y0 - 0.35, y1 + 0.9  # room for labels and the title
  fig = Figure(figsize=((x1 - x0) * INCH, (y1 - y0) * INCH))
  output.FigureCanvasAgg(fig)
  ax = fig.add_axes((0, 0, 1, 1))
  ax.set_xlim(x0, x1)
  ax.set_ylim(y0, y1)
  ax.set_axis_off()
  ax.text((x0 + x1) / 2, y1 - 0.35, graph.title, ha="center", va="center", fontsize=14)

  boxes = {}
  for i, node in enumerate(graph.nodes):
    x, y = position[node.name]
    box = FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H,
                         boxstyle="round,pad=0,rounding_size=0.12", linewidth=1.3,
                         facecolor=style.NODE_FILLS[node.kind], edgecolor="black", zorder=3,
                         gid=f"node-{label}-{i}")
    ax.add_patch(box)
    ax.text(x, y, _math(node.name), ha="center", va="center", fontsize=13, zorder=4)
    boxes[node.name] = box

  colors = style.op_colors(graph.ops())
  for k, (edge, bend) in enumerate(zip(graph.edges, bends)):
    color = colors[edge.op] if edge.op else style.CONCAT_COLOR
    kind = "edge" if edge.op else "concat"
    ax.add_patch(FancyArrowPatch(
        position[edge.source], position[edge.target], connectionstyle=f"arc3,rad={bend}",
        arrowstyle="-|>", mutation_scale=13, linewidth=1.4, color=color,
        linestyle="--" if edge.dashed else "-", patchA=boxes[edge.source],
        patchB=boxes[edge.target], zorder=2, gid=f"{kind}-{label}-{k}"))
  _place_labels(fig, ax, graph, label, position, curves, colors, boxes)
  return fig


class _Label:
  """One op label that slides along its edge (rotated with it), in display pixels."""

  def __init__(self, text, half, curve, start, head, others):
    self.text, self.half, self.curve = text, half, curve
    self.start, self.head, self.others = start, head, others
    self.pose = None  # (center, angle), once placed

  def at(self, stop: float):
    i = round(stop * (len(self.curve) - 1))
    d = self.curve[min(i + 1, len(self.curve) - 1)] - self.curve[max(i - 1, 0)]
    angle = math.degrees(math.atan2(d[1], d[0]))
    angle = angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle
    return self.curve[i], angle

  def cost(self, stop: float, nodes, labels) -> float:
    """Covering a node or another label is worst, then hiding its own arrow head, then covering
    other edges or the start of its own; the middle of the edge is preferred."""
    center, angle = self.at(stop)
    grid = _rectangle_grid(center, angle, self.half)
    covered = sum(int(np.sum(_in_bbox(grid, box))) for box in nodes)
    covered += sum(int(np.sum(_in_rectangle(grid, *other.pose, other.half)))
                   for other in labels if other is not self and other.pose is not None)
    head = int(np.sum(_in_rectangle(self.head, center, angle, self.half)))
    start = int(np.sum(_in_rectangle(self.start, center, angle, self.half)))
    crossed = int(np.sum(_in_rectangle(self.others, center, angle, self.half)))
    return 400 * covered + 50 * head + 30 * crossed + 15 * start + 10 * abs(stop - 0.5)


def _place_labels(fig, ax, graph, label, position, curves, colors, boxes) -> None:
  """Each op label at the stop along its edge that covers the least (see ``_Label.cost``): placed
  greedily edge by edge, then each moved again knowing where all the others went."""
  renderer = fig.canvas.get_renderer()
  to_display = ax.transData.transform
  nodes = [box.get_window_extent(renderer) for box in boxes.values()]
  labels = []
  for k, (edge, curve) in enumerate(zip(graph.edges, curves)):
    if not edge.op:
      continue
    text = ax.text(0, 0, edge.op, ha="center", va="center", rotation_mode="anchor",
                   fontsize=9, color=colors[edge.op], zorder=5, gid=f"label-{label}-{k}",
                   bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none",
                         "alpha": 0.85})
    extent = text.get_window_extent(renderer)
    own = curve[[not (_inside(p[None], position[edge.source], 0)
                      or _inside(p[None], position[edge.target], 0)) for p in curve]]
    others = np.concatenate([c[3:-3] for j, c in enumerate(curves) if j != k])
    labels.append(_Label(text, np.array([extent.width / 2 + 2, extent.height / 2 + 1]),
                         to_display(curve), to_display(own[:len(own) // 8]),
                         to_display(own[-len(own) // 4:]), to_display(others)))
  for _ in range(3):
    for item in labels:
      item.pose = item.at(min(STOPS, key=lambda stop: item.cost(stop, nodes, labels)))
  for item in labels:
    center, angle = item.pose
    item.text.set_position(ax.transData.inverted().transform(center))
    item.text.set_rotation(angle)


def _rotation(angle: float) -> np.ndarray:
  a = math.radians(angle)
  return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def _rectangle_grid(center, angle, half, n=(9, 3)) -> np.ndarray:
  u, v = np.meshgrid(np.linspace(-1, 1, n[0]) * half[0], np.linspace(-1, 1, n[1]) * half[1])
  return center + np.stack([u.ravel(), v.ravel()], 1) @ _rotation(angle).T


def _in_rectangle(points, center, angle, half) -> np.ndarray:
  local = (points - center) @ _rotation(angle)
  return (np.abs(local[:, 0]) < half[0]) & (np.abs(local[:, 1]) < half[1])


def _in_bbox(points, box: Bbox) -> np.ndarray:
  return ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
          & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
