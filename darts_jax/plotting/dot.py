"""Cell graphs drawn by Graphviz's ``dot`` program (left to right, as quark0/darts
``visualize.py`` draws them), when it is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from darts_jax.plotting import cells, style


def available() -> bool:
  return shutil.which("dot") is not None


def _label(name: str) -> str:
  """``c_{k-2}`` as an HTML-like label with a subscript; other names quoted."""
  match = re.fullmatch(r"(\w+)_\{(.+)\}", name)
  return f"<{match[1]}<sub>{match[2]}</sub>>" if match else f'"{name}"'


def source(graph: cells.CellGraph, label: str) -> str:
  """The DOT text of ``graph``; its ids (``node-<label>-<i>``, ``edge-<label>-<k>``,
  ``concat-<label>-<k>``) carry over into the SVG."""
  lines = [f'digraph "{label}" {{', "  rankdir=LR;",
           f'  label="{graph.title}"; labelloc=t; fontsize=22; fontname="Helvetica";',
           ('  node [style="filled,rounded", shape=rect, fontsize=18, fontname="Helvetica", '
            "height=0.5, width=0.5, penwidth=1.5];"),
           '  edge [fontsize=16, fontname="Helvetica", penwidth=1.5];']
  for i, node in enumerate(graph.nodes):
    lines.append(f'  "{node.name}" [label={_label(node.name)}, '
                 f'fillcolor="{style.NODE_FILLS[node.kind]}", id="node-{label}-{i}"];')
  inputs = [f'"{node.name}"' for node in graph.nodes if node.kind == cells.INPUT]
  if len(inputs) > 1:  # inputs in one column, in order (c_{k-2} above c_{k-1})
    lines.append(f"  {{rank=same; {' -> '.join(inputs)} [style=invis];}}")
  colors = style.op_colors(graph.ops())
  for k, edge in enumerate(graph.edges):
    if edge.op:
      dashed = ", style=dashed" if edge.dashed else ""
      lines.append(f'  "{edge.source}" -> "{edge.target}" [label="{edge.op}", '
                   f'color="{colors[edge.op]}", fontcolor="{colors[edge.op]}", '
                   f'id="edge-{label}-{k}"{dashed}];')
    else:
      lines.append(f'  "{edge.source}" -> "{edge.target}" [color="{style.CONCAT_COLOR}", '
                   f'id="concat-{label}-{k}"];')
  lines.append("}")
  return "\n".join(lines) + "\n"


def render(graph: cells.CellGraph, label: str, stem: str) -> list[str]:
  """Writes ``<stem>.png`` and ``<stem>.svg``; returns the paths."""
  text = source(graph, label)
  os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
  paths = []
  for fmt, extra in (("png", ["-Gdpi=150"]), ("svg", [])):
    path = f"{stem}.{fmt}"
    subprocess.run(["dot", f"-T{fmt}", *extra, "-o", path], input=text, text=True, check=True,
                   capture_output=True)
    paths.append(path)
  return paths
