"""Colours shared by every picture: one per op (the same op keeps its colour in the cell
drawings and the mixing-weight plots), and the node fills of the DARTS paper's cell figures."""

from __future__ import annotations

from collections.abc import Sequence

OP_COLORS = {
    "none": "#808080",
    "max_pool_3x3": "#d62728",
    "avg_pool_3x3": "#d95f02",
    "skip_connect": "#1f77b4",
    "sep_conv_3x3": "#2ca02c",
    "sep_conv_5x5": "#9467bd",
    "dil_conv_3x3": "#8c564b",
    "dil_conv_5x5": "#e7298a",
    "nor_conv_1x1": "#9467bd",
    "nor_conv_3x3": "#2ca02c",
}
_MORE = ("#17becf", "#bcbd22", "#7570b3", "#a6761d", "#1a1a1a", "#e6ab02", "#66a61e", "#666666")

# quark0/darts visualize.py: inputs darkseagreen2, nodes lightblue, the output palegoldenrod.
NODE_FILLS = {"input": "#b4eeb4", "node": "#add8e6", "output": "#eee8aa"}
CONCAT_COLOR = "#999999"


def op_colors(op_names: Sequence[str]) -> dict[str, str]:
  """``{op: colour}``: the fixed colour of a known op, else one of a few more by position."""
  names = list(dict.fromkeys(op_names))
  colors, spare = {}, iter(_MORE * (1 + len(names) // len(_MORE)))
  for name in names:
    colors[name] = OP_COLORS.get(name) or next(spare)
  return colors
