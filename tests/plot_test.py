"""Pictures of a run from fake workdirs: files, formats, the ops on the right edges, legibility."""

import collections
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from darts_jax import genotypes, plotting
from darts_jax.plotting import cell_figure, cells, dot

SVG = "{http://www.w3.org/2000/svg}"
NB201 = genotypes.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+"
                        "|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")
ENGINES = ["matplotlib", pytest.param("dot", marks=pytest.mark.skipif(
    not dot.available(), reason="Graphviz's dot is not installed (apt-get install graphviz)"))]


def write_run(workdir, genotype=None, *, alphas=None, epochs=3, retrain=False, save_genotype=True):
  """A fake search (``alphas`` = ``{label: (edges, ops)}``) or retraining workdir."""
  os.makedirs(workdir, exist_ok=True)
  rng = np.random.default_rng(0)
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    for epoch in range(epochs):
      record = {"train_loss": 2.0 / (epoch + 1), "train_acc": 0.2 * epoch, "epoch": epoch,
                "seconds": 1.0, "lr": 0.025}
      if retrain:
        record.update(test_acc=0.15 * epoch, test_loss=2.2 / (epoch + 1))
      else:
        record.update(val_acc=0.1 * epoch, val_loss=2.5 / (epoch + 1), genotype=str(genotype),
                      alphas={label: rng.dirichlet(np.ones(shape[1]), shape[0]).tolist()
                              for label, shape in alphas.items()})
      f.write(json.dumps(record) + "\n")
  if genotype is not None and save_genotype:
    genotypes.save(genotype, os.path.join(workdir, "genotype.json"))


def darts_search(workdir):
  write_run(workdir, genotypes.PUBLISHED["DARTS_V2"], alphas={"normal": (14, 8), "reduce": (14, 8)})


def names(paths, workdir):
  return sorted(os.path.relpath(p, os.path.join(workdir, "plots")) for p in paths)


def check_files(paths):
  for path in paths:
    assert os.path.getsize(path) > 0, path
    if path.endswith(".png"):
      with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG" and min(image.size) > 100
    else:
      assert ET.parse(path).getroot().tag == f"{SVG}svg"


def svg_groups(path: str, prefix: str) -> dict[str, str]:
  """``{id: the text drawn inside}`` of the SVG groups whose id starts with ``prefix``."""
  root = ET.parse(path).getroot()
  return {g.get("id"): "".join("".join(t.itertext()) for t in g.iter(f"{SVG}text")).strip()
          for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith(prefix)}


def edge_ops(path: str, label: str, engine: str) -> dict[int, str]:
  """``{edge index: op}`` as drawn: Graphviz puts an edge's label inside the edge's group,
  matplotlib in its own ``label-...`` group."""
  groups = svg_groups(path, f"{'edge' if engine == 'dot' else 'label'}-{label}-")
  return {int(key.rsplit("-", 1)[1]): text for key, text in groups.items()}


def test_darts_search_plots(tmp_path):
  darts_search(str(tmp_path))
  paths = plotting.plot_run(str(tmp_path), engine="matplotlib")
  assert names(paths, str(tmp_path)) == sorted(
      f"{stem}.{fmt}" for stem in ("cell_normal", "cell_reduce", "alphas_normal",
                                   "alphas_reduce", "curves") for fmt in ("png", "svg"))
  check_files(paths)
  text = "".join(ET.parse(str(tmp_path / "plots" / "alphas_reduce.svg")).getroot().itertext())
  for op in genotypes.PUBLISHED["DARTS_V2"].ops() | {"none", "avg_pool_3x3", "sep_conv_5x5"}:
    assert op in text  # the legend
  assert "1 → 3" in text and "2 → 3" in text  # the subplot titles of the node-to-node edges
  text = "".join(ET.parse(str(tmp_path / "plots" / "curves.svg")).getroot().itertext())
  assert "val acc" in text and "train loss" in text


@pytest.mark.parametrize("engine", ENGINES)
def test_darts_cells_have_every_op_on_its_edge(tmp_path, engine):
  genotype = genotypes.PUBLISHED["DARTS_V2"]
  graphs = cells.cell_graphs(genotype)
  for label, edges, concat in (("normal", genotype.normal, genotype.normal_concat),
                               ("reduce", genotype.reduce, genotype.reduce_concat)):
    png, svg = plotting.draw_cell(graphs[label], label, str(tmp_path / label), engine)
    check_files([png, svg])
    assert len(svg_groups(svg, f"edge-{label}-")) == len(edges) == 8
    assert len(svg_groups(svg, f"concat-{label}-")) == len(concat) == 4
    assert edge_ops(svg, label, engine) == {k: op for k, (op, _) in enumerate(edges)}
    assert len(svg_groups(svg, f"node-{label}-")) == 2 + 4 + 1


@pytest.mark.parametrize("engine", ENGINES)
def test_nb201_cell_and_alphas(tmp_path, engine):
  write_run(str(tmp_path), NB201, alphas={"cell": (6, 5)})
  paths = plotting.plot_run(str(tmp_path), engine=engine)
  assert names(paths, str(tmp_path)) == sorted(
      f"{stem}.{fmt}" for stem in ("cell", "alphas_cell", "curves") for fmt in ("png", "svg"))
  check_files(paths)
  svg = str(tmp_path / "plots" / "cell.svg")
  expected = [op for node in NB201.nodes for op, _ in node]
  assert edge_ops(svg, "cell", engine) == dict(enumerate(expected))
  text = "".join(ET.parse(str(tmp_path / "plots" / "alphas_cell.svg")).getroot().itertext())
  for op in ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"):
    assert op in text  # the legend
  for edge in ("in → 1", "1 → 2", "2 → out"):
    assert edge in text  # the subplot titles


def test_retraining_and_whole_run_workdirs(tmp_path):
  write_run(str(tmp_path / "retrain"), retrain=True)
  paths = plotting.plot_run(str(tmp_path / "retrain"))
  assert names(paths, str(tmp_path / "retrain")) == ["curves.png", "curves.svg"]
  text = "".join(ET.parse(paths[1]).getroot().itertext())
  assert "test acc" in text and "train loss" in text

  run = tmp_path / "run"
  write_run(str(run / "search"), NB201, alphas={"cell": (6, 5)})
  write_run(str(run / "retrain"), retrain=True)
  paths = plotting.plot_run(str(run), engine="matplotlib")
  check_files(paths)
  assert names(paths, str(run)) == sorted(
      f"{stem}.{fmt}" for stem in ("search_cell", "search_alphas_cell", "search_curves",
                                   "retrain_curves") for fmt in ("png", "svg"))


def test_a_running_search_draws_the_genotype_of_its_last_epoch(tmp_path):
  write_run(str(tmp_path), NB201, alphas={"cell": (6, 5)}, save_genotype=False)
  plotting.plot_run(str(tmp_path), engine="matplotlib")
  drawn = edge_ops(str(tmp_path / "plots" / "cell.svg"), "cell", "matplotlib")
  assert drawn == dict(enumerate(op for node in NB201.nodes for op, _ in node))


@pytest.mark.parametrize("name", ["DARTS_V1", "DARTS_V2", "PDARTS", "PC_DARTS_cifar"])
def test_matplotlib_labels_overlap_no_label_and_no_node(name):
  genotype = genotypes.PUBLISHED[name]
  graphs = {**cells.cell_graphs(genotype), **cells.cell_graphs(NB201)}
  for label, graph in graphs.items():
    fig = cell_figure.draw(graph, label)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = []
    for text in ax.texts:
      if (text.get_gid() or "").startswith("label-"):
        angle = text.get_rotation()
        text.set_rotation(0)
        extent = text.get_window_extent(renderer)
        text.set_rotation(angle)
        labels.append((ax.transData.transform(text.get_position()), angle,
                       0.95 * np.array([extent.width / 2, extent.height / 2])))
    nodes = [p.get_window_extent(renderer) for p in ax.patches
             if (p.get_gid() or "").startswith("node-")]
    assert len(labels) == len(graph.ops())
    for i, (center, angle, half) in enumerate(labels):
      grid = cell_figure._rectangle_grid(center, angle, half)
      for j, other in enumerate(labels):
        assert i == j or not cell_figure._in_rectangle(grid, *other).any(), (name, label, i, j)
      for box in nodes:
        assert not cell_figure._in_bbox(grid, box).any(), (name, label, i)


def test_missing_and_unreadable_files_are_named(tmp_path):
  with pytest.raises(plotting.PlotError, match="does not exist"):
    plotting.plot_run(str(tmp_path / "nowhere"))
  os.makedirs(tmp_path / "empty" / "search")
  with pytest.raises(plotting.PlotError, match="no metrics.jsonl or genotype.json"):
    plotting.plot_run(str(tmp_path / "empty"))
  broken = tmp_path / "broken"
  darts_search(str(broken))
  with open(broken / "metrics.jsonl", "a") as f:
    f.write('{"epoch": 3, "train_lo\n')
  with pytest.raises(plotting.PlotError, match=r"metrics.jsonl line 4 is not a JSON record"):
    plotting.plot_run(str(broken))
  (broken / "metrics.jsonl").unlink()
  (broken / "genotype.json").write_text('{"space": "darts_cnn"}')
  with pytest.raises(plotting.PlotError, match="cannot read the genotype"):
    plotting.plot_run(str(broken))
  with pytest.raises(plotting.PlotError, match="unknown drawing engine"):
    plotting.draw_cell(cells.cell_graphs(NB201)["cell"], "cell", str(tmp_path / "x"), "tikz")


def test_the_main_prints_one_error_line_and_exits_nonzero(tmp_path):
  repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run([sys.executable, "-m", "experiments.plot", f"--workdir={tmp_path}"],
                          check=False, capture_output=True, text=True, cwd=repository)
  assert result.returncode == 1
  assert "Traceback" not in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(f"error: nothing to plot in {tmp_path}")


def test_op_colours_are_stable_and_distinct():
  from darts_jax.plotting import style
  from darts_jax.spaces import NB201_OPS, PRIMITIVES
  for ops in (PRIMITIVES, NB201_OPS, ("my_op", "other_op", "skip_connect")):
    colors = style.op_colors(ops)
    assert len(set(colors.values())) == len(ops)
  assert style.op_colors(["b", "a", "b"]) == style.op_colors(["b", "a"])
  assert collections.Counter(style.op_colors(PRIMITIVES).values()).most_common(1)[0][1] == 1
