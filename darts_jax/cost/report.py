"""One architecture's cost report: parameters, MACs/FLOPs, latency per batch size, energy, device;
and the lookup-table build. The library side of ``python -m experiments.cost``."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
from flax import nnx

from darts_jax import config_schema as cs
from darts_jax import genotypes, spaces
from darts_jax.cost import energy, flops, latency, lut, networks, trace


def config_schema() -> dict:
  """The fields of a cost config (``config_schema.check``)."""
  return {"genotype": cs.text, "space": cs.one_of(("",) + tuple(spaces.names()), "space"),
          "ops_module": cs.text, "channels": cs.integer(0), "layers": cs.integer(0),
          "setting": cs.one_of(("", "cifar", "imagenet"), "network setting"),
          "num_classes": cs.integer(1), "image_size": cs.integer(1),
          "batch_sizes": cs.sequence_of(cs.integer(1)), "warmup": cs.integer(0),
          "repeats": cs.integer(1), "build_lut": cs.boolean, "lut": cs.text}


def check_config(config: ml_collections.ConfigDict) -> None:
  """Imports ``config.ops_module`` and checks the whole config; raises ``ConfigError``."""
  cs.import_ops_modules(config)
  cs.check(config, config_schema(), what="cost config")
  if not config.batch_sizes:
    raise cs.ConfigError("batch_sizes is empty; name at least one, e.g. --config.batch_sizes=1,32")


def resolve(config: ml_collections.ConfigDict) -> tuple[genotypes.Genotype, spaces.SearchSpace]:
  """The genotype (published name, ``genotype.json`` path or literal) and its space: the configured
  one, else the genotype's own; a genotype of another space is a GenotypeError."""
  genotype = genotypes.resolve(config.genotype)
  space = spaces.get(config.space or genotype.space_name)
  return space.validate(genotype), space


def network_size(config: ml_collections.ConfigDict) -> networks.NetworkSize:
  return networks.NetworkSize(config.channels, config.layers, config.num_classes,
                              config.image_size, config.setting)


def evaluate(config: ml_collections.ConfigDict) -> dict:
  """Parameters, analytic MACs/FLOPs, XLA's FLOPs and bytes (at batch 1), and per batch size the
  measured latency and the energy per inference (or why it is unavailable)."""
  check_config(config)
  genotype, space = resolve(config)
  size = network_size(config)
  model = networks.build(genotype, space, size, rngs=nnx.Rngs(0))
  cost = flops.network_cost(model, size.input_shape(1))
  fn, state = trace.inference(model)
  jitted = jax.jit(fn)
  timings, joules = {}, {}
  for batch_size in config.batch_sizes:
    x = jnp.zeros(size.input_shape(batch_size))
    timings[batch_size] = latency.measure(fn, state, x, warmup=config.warmup,
                                          repeats=config.repeats)
    per_call = energy.joules_per_call(lambda x=x: jitted(state, x), calls=config.repeats)
    joules[batch_size] = per_call / batch_size if isinstance(per_call, float) else per_call
  env = timings[config.batch_sizes[0]].environment
  return {"genotype": str(genotype), "space": space.name, "size": dataclasses.asdict(size), **cost.to_json(),
          "latency_ms": {str(b): t.median_ms for b, t in timings.items()},
          "latency_iqr_ms": {str(b): t.iqr_ms for b, t in timings.items()},
          "compile_s": {str(b): t.compile_s for b, t in timings.items()},
          "energy_j_per_inference": {str(b): j for b, j in joules.items()},
          "device": env["device_kind"], "environment": env}


def table(result: dict) -> list[str]:
  """The human-readable lines of an ``evaluate`` result."""
  env = result["environment"]
  lines = [f"genotype  {result['genotype']}",
           f"network   {result['space']}, " + ", ".join(
               f"{k} {v or 'default'}" for k, v in result["size"].items()),
           (f"device    {env['device_kind']} ({env['platform']}); jax {env['jax']}, jaxlib "
            f"{env['jaxlib']}, flax {env['flax']}"),
           f"params    {result['params'] / 1e6:.3f} M (weights only)",
           (f"MACs      {result['macs'] / 1e6:.1f} M per image (multiply-adds of convs and dense "
            "layers; the papers' 'FLOPs')"),
           (f"FLOPs     {result['flops'] / 1e6:.1f} M per image (2 x MACs); XLA cost analysis "
            f"{result['xla_flops'] / 1e6:.1f} M, {result['bytes_accessed'] / 1e6:.1f} MB accessed")]
  for batch, ms in result["latency_ms"].items():
    lines.append(f"latency   batch {batch}: median {ms:.3f} ms (IQR "
                 f"{result['latency_iqr_ms'][batch]:.3f} ms; compile {result['compile_s'][batch]:.1f}"
                 " s, not timed)")
  for batch, joules in result["energy_j_per_inference"].items():
    value = f"{joules:.4g} J per image" if isinstance(joules, float) else joules
    lines.append(f"energy    batch {batch}: {value}")
  return lines


def build_table(config: ml_collections.ConfigDict, *, report=print) -> lut.LookupTable:
  """Measures the lookup table of ``config.space`` at the configured size and batch size (the first
  of ``batch_sizes``) and adds it to ``config.lut`` under this device kind."""
  check_config(config)
  space = spaces.get(config.space or resolve(config)[1].name)
  table = lut.build(space, network_size(config), batch_size=config.batch_sizes[0],
                    warmup=config.warmup, repeats=config.repeats, report=report)
  lut.save(table, config.lut)
  return table
