"""Per-op latency lookup tables: every site a space can produce, measured once on this device and
stored as JSON keyed by device kind; a genotype's predicted latency is the fixed part plus its sites.

Each op is timed alone (compiled, warmed up, median of repeated blocked calls) less the dispatch
overhead of an empty call with the same arguments, since a whole network pays that once.
The fixed part (stem, cell preprocessing, node sums, head) is the measured network whose every
edge is ``none``.
"""

from __future__ import annotations

import dataclasses
import json
import os

import jax.numpy as jnp
from flax import nnx

from darts_jax import genotypes, ops
from darts_jax.cost import latency, networks, sites, trace
from darts_jax.spaces import SearchSpace


def op_latency(site: sites.Site, batch_size: int, **timing) -> float:
  """Milliseconds one op (as in a fixed network: affine BatchNorm, inference mode) adds at ``site``:
  its median latency minus that of an empty call with the same arguments (the dispatch overhead,
  which a whole network pays once), floored at zero."""
  op = ops.get(site.op)(site.channels, site.stride, affine=True, rngs=nnx.Rngs(0))
  fn, state = trace.inference(op)
  x = jnp.zeros((batch_size, site.height, site.width, site.channels))
  overhead = latency.measure(lambda s, x: x, state, x, **timing).median_ms
  return max(latency.measure(fn, state, x, **timing).median_ms - overhead, 0.0)


def network_latency(genotype, space: SearchSpace, size: networks.NetworkSize, batch_size: int,
                    **timing) -> latency.Latency:
  """End-to-end latency of ``genotype``'s fixed network at ``size``."""
  fn, state = trace.inference(networks.build(genotype, space, size, rngs=nnx.Rngs(0)))
  return latency.measure(fn, state, jnp.zeros(size.input_shape(batch_size)), **timing)


def all_none(genotype: genotypes.Genotype) -> genotypes.Genotype:
  """The same cell wiring with every op replaced by ``none``: the network's fixed part."""
  if isinstance(genotype, genotypes.DartsGenotype):
    return dataclasses.replace(genotype, normal=[("none", i) for _, i in genotype.normal],
                               reduce=[("none", i) for _, i in genotype.reduce])
  return genotypes.NB201Genotype([[("none", i) for _, i in node] for node in genotype.nodes])


@dataclasses.dataclass(frozen=True)
class LookupTable:
  """Op latencies (ms, dispatch overhead removed) at one network size and batch size on one device."""

  space: str
  size: dict
  batch_size: int
  fixed_ms: float
  ops: dict[str, float]
  environment: dict[str, str]

  def op_ms(self, site: sites.Site) -> float:
    """The entry of one site; a site the table was not built for is a clear error."""
    try:
      return self.ops[site.key]
    except KeyError:
      raise KeyError(f"site {site.key} is not in the lookup table (built for {self.size}, batch "
                     f"{self.batch_size}); rebuild it with --config.build_lut at this network "
                     "size") from None

  def predict(self, space: SearchSpace, genotype: genotypes.Genotype,
              cells: list[sites.CellShape]) -> float:
    """Predicted end-to-end latency (ms) of ``genotype``: the fixed part plus its ops' entries."""
    if space.name != self.space:
      raise ValueError(f"this lookup table is for the {self.space} space, not {space.name}")
    return self.fixed_ms + sum(self.op_ms(s) for s in sites.genotype_sites(space, genotype, cells))


def build(space: SearchSpace, size: networks.NetworkSize, *, batch_size: int = 1, warmup: int = 3,
          repeats: int = 20, report=lambda _: None) -> LookupTable:
  """Measures every site of ``space`` at ``size``, and the fixed part, on this device."""
  timing = {"warmup": warmup, "repeats": repeats}
  reference = networks.reference_genotype(space)
  fixed_space = dataclasses.replace(space, op_names=tuple(dict.fromkeys((*space.op_names, "none"))))
  fixed = network_latency(all_none(reference), fixed_space, size, batch_size, **timing).median_ms
  entries = {}
  for site in sites.space_sites(space, sites.cell_shapes(space, size)):
    entries[site.key] = op_latency(site, batch_size, **timing)
    report(f"{site.key}: {entries[site.key]:.4f} ms")
  return LookupTable(space.name, dataclasses.asdict(size), batch_size, fixed, entries,
                     latency.environment())


def save(table: LookupTable, path: str | os.PathLike) -> None:
  """Adds (or replaces) ``table`` under its device kind in the JSON file at ``path``."""
  tables = {}
  if os.path.exists(path):
    with open(path) as f:
      tables = json.load(f)
  tables[table.environment["device_kind"]] = dataclasses.asdict(table)
  with open(path, "w") as f:
    json.dump(tables, f, indent=1, sort_keys=True)


def load(path: str | os.PathLike, device_kind: str | None = None) -> LookupTable:
  """The table measured on ``device_kind`` (default: this device) from the JSON file at ``path``."""
  device_kind = device_kind or latency.environment()["device_kind"]
  with open(path) as f:
    tables = json.load(f)
  if device_kind not in tables:
    raise KeyError(f"{path} holds lookup tables for devices {sorted(tables)}, not {device_kind!r}; "
                   "build one on this device with --config.build_lut")
  return LookupTable(**tables[device_kind])
