"""The differentiable cost objective of a supernet: expected cost = sum over edges and ops of
relax(alpha) * cost, and its place in the search loss.

Per-op costs come from the analytic MACs or parameters of each op at its site, from a measured
latency lookup table, or (NAS-Bench-201) from the additive model fitted to the device latency table.
Penalty forms:
- ``linear``: ``weight * cost`` (ProxylessNAS's expected-latency term; FBNet's cost weighting);
- ``absolute``: ``weight * |cost / target - 1|`` (TuNAS's absolute-value reward, as a loss);
- ``hinge``: ``weight * max(0, cost / target - 1)``, a one-sided target (no pressure once under it).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from flax import nnx

from darts_jax import config_schema as cs
from darts_jax import ops, relaxations, spaces, tabular
from darts_jax.cost import flops, lut, nb201_latency, networks, params, sites
from darts_jax.supernet import macro_network

SOURCES = ("macs", "params", "latency_lut", "nb201_latency")
FORMS = ("linear", "absolute", "hinge")


def op_macs(site: sites.Site) -> float:
  """Millions of MACs of the op at ``site`` (batch 1), analytic: convolutions and dense layers."""
  op = nnx.eval_shape(lambda: ops.get(site.op)(site.channels, site.stride, affine=True,
                                               rngs=nnx.Rngs(0)))
  return flops.analytic_macs(op, (1, site.height, site.width, site.channels)) / 1e6


def op_params(site: sites.Site) -> float:
  """Millions of weights of the op at ``site``."""
  return params.count(nnx.eval_shape(lambda: ops.get(site.op)(
      site.channels, site.stride, affine=True, rngs=nnx.Rngs(0)))) / 1e6


def edge_costs(space, cells: list[sites.CellShape],
               op_cost: Callable[[sites.Site], float]) -> dict[str, np.ndarray]:
  """``{label: [edges, ops]}``: each op's cost on each supernet edge, summed over the cells that
  share the label (and so share the alphas)."""
  costs = {label: np.zeros(shape) for label, shape in space.alpha_shapes().items()}
  cache = {}
  for cell in cells:
    for row, _, source in sites.edges(space):
      for k, op in enumerate(space.op_names):
        site = sites.site(space, cell, op, source)
        if site not in cache:
          cache[site] = op_cost(site)
        costs[cell.label][row, k] += cache[site]
  return costs


def macro_costs(space: spaces.Macro, stem_channels: int, image_size: int,
                source: str) -> dict[str, np.ndarray]:
  """``{label: [blocks, ops]}``: millions of MACs or weights of every candidate of every block."""
  if source not in ("macs", "params"):
    raise ValueError(f"the macro space takes cost sources 'macs' and 'params', not {source!r}")
  costs = {label: np.zeros(shape) for label, shape in space.alpha_shapes().items()}
  size = image_size
  for (label, row), (c_in, c_out, stride) in zip(space.rows(),
                                                 macro_network.layout(space, stem_channels)):
    candidates = space.op_names[:costs[label].shape[1]]
    for k, name in enumerate(candidates):
      block = nnx.eval_shape(lambda n=name, i=c_in, o=c_out, s=stride: macro_network.block(
          n, i, o, s, affine=True, rngs=nnx.Rngs(0)))
      count = (flops.analytic_macs(block, (1, size, size, c_in)) if source == "macs"
               else params.count(block))
      costs[label][row, k] = count / 1e6
    size = math.ceil(size / stride)
  return costs


def expected_cost(alphas: dict, costs: dict[str, np.ndarray],
                  relaxation: relaxations.Relaxation = relaxations.softmax) -> jnp.ndarray:
  """``sum_label sum_{edge, op} relax(alpha)[edge, op] * cost[edge, op]``, differentiable in alphas."""
  return sum(jnp.sum(relaxation(alphas[label]) * costs[label]) for label in costs)


def penalty(cost: jnp.ndarray, *, form: str, weight: float, target: float = 0.0) -> jnp.ndarray:
  """The cost term added to the search loss (forms in the module docstring)."""
  if form not in FORMS:
    raise ValueError(f"unknown cost penalty form {form!r}; choose one of {list(FORMS)}")
  if form == "linear":
    return weight * cost
  if target <= 0:
    raise ValueError(f"the {form!r} cost penalty needs a positive target, got {target}")
  if form == "absolute":
    return weight * jnp.abs(cost / target - 1.0)
  return weight * jnp.maximum(cost / target - 1.0, 0.0)


def config_schema() -> dict:
  """The fields of a search config's ``cost`` block (``config_schema.check``)."""
  return {"weight": cs.NON_NEGATIVE, "source": cs.one_of(SOURCES, "cost source"),
          "form": cs.one_of(FORMS, "cost form"), "target": cs.NON_NEGATIVE,
          "image_size": cs.integer(1), "lut": cs.text, "device": cs.text, "tables_dir": cs.text,
          "relaxation": cs.one_of(relaxations.names, "relaxation")}


def search_costs(config) -> dict[str, np.ndarray]:
  """Per-edge op costs of the search supernet described by a search config's ``cost`` block."""
  c = config.cost
  if c.source not in SOURCES:
    raise ValueError(f"unknown cost source {c.source!r}; choose one of {list(SOURCES)}")
  space = spaces.get(config.space, **({"op_names": tuple(config.ops)} if config.get("ops") else {}))
  if isinstance(space, spaces.Macro):
    return macro_costs(space, config.network.get("stem_channels", 32), c.image_size, c.source)
  if c.source == "nb201_latency":
    if space.name != "nb201":
      raise ValueError(f"cost source nb201_latency is for the nb201 space, not {space.name}")
    model, _ = nb201_latency.fit(tabular.load(c.tables_dir or None), c.device)
    return {"cell": model.edge_costs(space.op_names)}
  network = config.network.to_dict()
  size = networks.NetworkSize(channels=network.get("channels", 0),
                              layers=network.get("layers", network.get("cells_per_stage", 0)),
                              image_size=c.image_size)
  cells = sites.cell_shapes(space, size)
  if c.source == "latency_lut":
    table = lut.load(c.lut)
    return edge_costs(space, cells, table.op_ms)
  return edge_costs(space, cells, op_macs if c.source == "macs" else op_params)


def search_penalty(config) -> Callable | None:
  """``penalty(arch_state)`` for the alpha loss, or None when the config asks for no cost term
  (no ``cost`` block, or ``cost.weight == 0``)."""
  c = config.get("cost")
  if c is None or not c.weight:
    return None
  costs = search_costs(config)
  relaxation = relaxations.get(c.get("relaxation", "softmax"))

  def cost_penalty(arch) -> jnp.ndarray:
    alphas = nnx.to_pure_dict(arch)["alphas"]
    return penalty(expected_cost(alphas, costs, relaxation), form=c.form, weight=c.weight,
                   target=c.target)

  return cost_penalty


def with_penalty(loss_fn: Callable, cost_penalty: Callable) -> Callable:
  """``loss_fn(arch, weights, batch) -> (loss, aux)`` with ``cost_penalty(arch)`` added to the loss
  (the reported validation loss then includes the cost term)."""
  def penalized(arch, weights, batch):
    value, aux = loss_fn(arch, weights, batch)
    return value + cost_penalty(arch), aux
  return penalized
