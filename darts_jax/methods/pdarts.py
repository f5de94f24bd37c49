"""P-DARTS (Chen, Xie, Wu & Tian, ICCV 2019, "Progressive Differentiable Architecture Search:
Bridging the Depth Gap between Search and Evaluation"): the search runs in stages of growing depth
(5 -> 11 -> 17 cells); after each stage every edge keeps only its strongest ops (8 -> 5 -> 3), so
the deeper supernets stay affordable; dropout on the skip connections' outputs, decaying within a
stage, keeps them from winning early; the final normal cell has at most 2 skip connections.

What the authors' code (chenxin061/pdarts, ``train_search.py`` and ``model_search.py``) does, and
this file follows:

- three stages of ``--epochs 25`` each, a fresh supernet and fresh optimizers per stage, 5, 5 + 6
  and 5 + 12 cells (``--layers 5``, ``--add_layers 6 --add_layers 12``); the driver runs each
  stage as a search of its own in ``<workdir>/stage<k>``;
- ``num_to_drop = [3, 2, 2]``: after stages 1 and 2 each edge drops its weakest ops by the softmax
  over the ops it kept (``get_min_k``), 8 -> 5 -> 3; dropped ops are neither built nor computed
  (the network's static ``kept_ops``) and the relaxation is a softmax over the kept ops only;
- ``eps_no_archs = [10, 10, 10]``: a weights-only warm-up of 10 epochs in every stage;
- dropout on ``skip_connect``'s identity outputs (``nn.Dropout(p)`` after ``Identity`` in
  ``MixedOp``), in the weight and the alpha step, at ``p = rate * (epochs - epoch - 1) / epochs``
  during the warm-up and ``rate * exp(-0.2 (epoch - warmup))`` after it, with the stage's initial
  ``rate`` (``--dropout_rate 0.1 --dropout_rate 0.4 --dropout_rate 0.7``, their README's CIFAR-10
  command; the paper's text gives 0.0 for the first stage);
- the final cell from the last stage's softmax: ``none`` never chosen, each edge's best op, each
  node's two strongest edges (DARTS' rule), then, in the normal cell, while it holds more than
  ``max_skips`` skip connections, the chosen skip connection of least weight loses its skip weight
  (``delete_min_sk_prob``) and the cell is parsed again (``keep_1_on``, ``keep_2_branches``).

On NAS-Bench-201 the same parts apply to its one cell label (``none`` stays a candidate, as the
space's own rule); its depths count cells as 3N + 2 (N cells per stage and two residual blocks),
so 5 -> 11 -> 17 is N = 1 -> 3 -> 5.

Left out: their clipping of the alphas' gradient norm at 5 (the alpha optimizer here has none).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from darts_jax import methods
from darts_jax.methods.base import Hyper, Method, Mixing, after_warmup
from darts_jax.supernet import mixed

DEPTHS = (5, 11, 17)  # --layers 5, --add_layers 6 --add_layers 12
OPS_PER_STAGE = (8, 5, 3)  # num_to_drop = [3, 2, 2] from the 8 DARTS ops
SKIP_DROPOUT = (0.1, 0.4, 0.7)  # their README's --dropout_rate for CIFAR-10
WARMUP_EPOCHS = 10  # eps_no_archs = [10, 10, 10]
MAX_SKIPS = 2  # the paper: at most 2 skip connections in the final normal cell
DECAY = 0.2  # train_search.py: scale_factor = 0.2
SKIP = "skip_connect"


def dropout_schedule(rate: float, warmup: int) -> Callable[[int, int], float]:
  """Their ``model.p``: ``rate (epochs - epoch - 1) / epochs`` in the warm-up,
  ``rate exp(-0.2 (epoch - warmup))`` after it."""
  def schedule(epoch: int, epochs: int) -> float:
    if epoch < warmup:
      return rate * (epochs - epoch - 1) / epochs
    return rate * math.exp(-(epoch - warmup) * DECAY)
  return schedule


def kept_mask(kept: Sequence[Sequence[int]] | None, shape: tuple[int, int]) -> np.ndarray:
  """``[edges, ops]`` booleans: True where the edge keeps the op (every op when ``kept`` is None)."""
  mask = np.ones(shape, bool)
  if kept is not None:
    mask[:] = False
    for row, ops in enumerate(kept):
      mask[row, list(ops)] = True
  return mask


def masked_softmax(alphas: jax.Array, mask: np.ndarray) -> jax.Array:
  """A softmax over each edge's kept ops; dropped ops weigh exactly 0."""
  return jnp.where(mask, jax.nn.softmax(jnp.where(mask, alphas, -jnp.inf), axis=-1), 0.0)


def drop_weakest(mixing: np.ndarray, kept: Sequence[Sequence[int]] | None,
                 keep: int) -> list[list[int]]:
  """Each edge's ``keep`` strongest kept ops by their weight (``get_min_k`` drops the rest),
  in index order."""
  mixing = np.asarray(mixing)
  mask = kept_mask(kept, mixing.shape)
  out = []
  for row, weights in zip(mask, mixing):
    candidates = np.flatnonzero(row)
    if keep > len(candidates):
      raise ValueError(f"cannot keep {keep} ops of an edge that has {len(candidates)}")
    order = sorted(candidates, key=lambda k: -weights[k])  # stable: ties keep the lower index
    out.append(sorted(int(k) for k in order[:keep]))
  return out


def _chosen_edges(space, genotype, label: str) -> list[tuple[int, str]]:
  """``(alpha row, op)`` of every edge the genotype's cell ``label`` keeps."""
  if hasattr(genotype, "nodes"):  # NAS-Bench-201: node j's edges from i < j
    return [(space.edge_index(j, i), op) for j, node in enumerate(genotype.nodes, 1)
            for op, i in node]
  return [(space.edge_index(k // 2, source), op)
          for k, (op, source) in enumerate(getattr(genotype, label))]


def limit_skips(space, mixing: Mixing, max_skips: int = MAX_SKIPS):
  """The space's genotype of ``mixing`` with at most ``max_skips`` skip connections in each cell
  label but ``reduce``: while there are more, the chosen skip connection of least weight loses its
  skip weight and the cell is parsed again."""
  mixing = {label: np.array(w, dtype=np.float64) for label, w in mixing.items()}
  if SKIP not in space.op_names:
    return space.discretize(mixing)
  skip = list(space.op_names).index(SKIP)
  while True:
    genotype = space.discretize(mixing)
    for label in [label for label in mixing if label != "reduce"]:
      skips = [row for row, op in _chosen_edges(space, genotype, label) if op == SKIP]
      if len(skips) > max_skips:
        weakest = min(skips, key=lambda row: mixing[label][row, skip])
        if mixing[label][weakest, skip] <= 0:  # only weightless skips left: no better parse
          return genotype
        mixing[label][weakest, skip] = 0.0
        break
    else:
      return genotype


def _parse_kept(text: str) -> dict[str, list[list[int]]] | None:
  return {label: [list(map(int, ops)) for ops in rows] for label, rows in
          json.loads(text).items()} if text else None


def _set_depth(network: ml_collections.ConfigDict, space: str, depth: int) -> None:
  if space == "nb201":
    if depth < 5 or (depth - 2) % 3:
      raise ValueError(f"a NAS-Bench-201 network has 3N + 2 cells (N >= 1), not {depth}")
    network.cells_per_stage = (depth - 2) // 3
  else:
    network.layers = depth


def driver(config, workdir: str, report, search):
  """The stages, each ``search(stage_config, <workdir>/stage<k>, report)``; the final genotype
  (the last stage's) in ``<workdir>/genotype.json``, every stage's records in its
  ``metrics.jsonl`` with a ``stage`` field."""
  from darts_jax import genotypes
  from darts_jax import search as search_lib
  from darts_jax import workdir as workdir_lib
  # The config's options over the method's defaults (a config may set none, as the main job's
  # ``--config.search.method=pdarts`` does).
  options = {**methods.defaults("pdarts"), **(config.get("method_options") or {})}
  depths, ops_per_stage = tuple(options["depths"]), tuple(options["ops_per_stage"])
  rates = tuple(options["skip_dropout"])
  if not len(depths) == len(ops_per_stage) == len(rates):
    raise ValueError(f"P-DARTS needs as many depths {depths}, ops per stage {ops_per_stage} and "
                     f"dropout rates {rates} as stages")
  workdir_lib.check(workdir, config, what="search")
  workdir_lib.record(workdir, config)
  kept, history, result = None, [], None
  for stage, depth in enumerate(depths):
    stage_config = ml_collections.ConfigDict(config.to_dict())
    stage_config.method_options = ml_collections.ConfigDict(options)
    stage_config.method_options.stage = stage
    stage_config.method_options.kept_ops = json.dumps(kept) if kept else ""
    _set_depth(stage_config.network, stage_config.space, depth)
    report(f"P-DARTS stage {stage + 1}/{len(depths)}: {depth} cells, {ops_per_stage[stage]} ops "
           f"per edge, skip dropout {rates[stage]}")
    result = search(stage_config, os.path.join(workdir, f"stage{stage + 1}"), report)
    history += [{**record, "stage": stage} for record in result.history]
    if stage + 1 < len(depths):
      method = search_lib.method_of(stage_config)
      weights = search_lib.mixing_weights(result.alphas, method)
      kept = {label: drop_weakest(np.asarray(w), None if kept is None else kept[label],
                                  ops_per_stage[stage + 1]) for label, w in weights.items()}
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    f.writelines(json.dumps(record) + "\n" for record in history)
  genotypes.save(result.genotype, os.path.join(workdir, "genotype.json"))
  return search_lib.SearchResult(result.genotype, result.alphas, history)


@methods.register("pdarts", depths=DEPTHS, ops_per_stage=OPS_PER_STAGE, skip_dropout=SKIP_DROPOUT,
                  warmup_epochs=WARMUP_EPOCHS, max_skips=MAX_SKIPS, stage=0, kept_ops="")
def _pdarts(options) -> Method:
  """P-DARTS: one stage's method (``stage``, and ``kept_ops`` as JSON ``{label: [[op index, ...]
  per edge]}``, both set by the driver) and the driver of the stages."""
  stage, warmup = int(options["stage"]), int(options["warmup_epochs"])
  rate = float(tuple(options["skip_dropout"])[stage])
  max_skips = int(options["max_skips"])
  kept = _parse_kept(str(options["kept_ops"]))
  if not 0 <= rate < 1:
    raise ValueError(f"P-DARTS' skip dropout rates must lie in [0, 1), not {rate}")

  def masks(alphas: Mixing) -> dict[str, np.ndarray]:
    return {label: kept_mask(None if kept is None else kept[label], a.shape)
            for label, a in alphas.items()}

  def expected(alphas: Mixing, hyper: Hyper | None = None) -> Mixing:
    del hyper
    return {label: masked_softmax(a, m) for (label, a), m in zip(alphas.items(),
                                                                  masks(alphas).values())}

  def relax(alphas: Mixing, key, hyper: Hyper) -> Mixing:
    weights = expected(alphas)
    hyper = hyper or {}
    if key is None or "skip_dropout" not in hyper:
      return weights
    keys = jax.random.split(key, len(weights))
    return {label: mixed.EdgeMixing(w, dropout_key=k, dropout_rate=hyper["skip_dropout"])
            for k, (label, w) in zip(keys, sorted(weights.items()))}

  schedules = {"skip_dropout": dropout_schedule(rate, warmup)}
  if warmup:
    schedules["train_alphas"] = after_warmup(warmup)
  return Method("pdarts", relax=relax, expected=expected, schedules=schedules,
                network={"kept_ops": kept} if kept else {},
                discretize=lambda space, mixing: limit_skips(space, mixing, max_skips),
                driver=driver)
