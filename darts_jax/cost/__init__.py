"""Cost of architectures: parameters, FLOPs (analytic and XLA), measured latency and energy, per-op
latency lookup tables, the NAS-Bench-201 latency model, and the differentiable cost objective."""

from darts_jax.cost import (energy, flops, latency, lut, nb201_latency, networks, objective, params,
                            report, sites, trace)

__all__ = ["energy", "flops", "latency", "lut", "nb201_latency", "networks", "objective", "params",
           "report", "sites", "trace"]
