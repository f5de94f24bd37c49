"""Energy per inference where the device reports it (NVML's energy counter on NVIDIA GPUs); everywhere
else the answer is 'unavailable' with the reason. Nothing is ever estimated."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import jax


def unavailable_reason() -> str | None:
  """Why energy cannot be read here, or None when it can."""
  device = jax.devices()[0]
  if "cuda" not in getattr(device.client, "platform_version", "").lower():
    return f"unavailable: {device.platform} device {device.device_kind!r} is not an NVIDIA GPU"
  if importlib.util.find_spec("pynvml") is None:
    return "unavailable: pynvml is not installed (pip install nvidia-ml-py)"
  return None


def _energy_counter() -> Callable[[], float]:
  """A reader of the first GPU's cumulative energy in joules (NVML counts millijoules)."""
  import pynvml

  pynvml.nvmlInit()
  handle = pynvml.nvmlDeviceGetHandleByIndex(jax.devices()[0].id)
  return lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1e3


def joules_per_call(call: Callable[[], object], *, calls: int) -> float | str:
  """Mean energy of ``call()`` (blocked until ready) over ``calls`` calls, or 'unavailable: why'."""
  reason = unavailable_reason()
  if reason:
    return reason
  try:
    read = _energy_counter()
    jax.block_until_ready(call())  # compiles and warms up outside the measured window
    start = read()
    for _ in range(calls):
      jax.block_until_ready(call())
    return (read() - start) / calls
  except Exception as e:  # NVML raises its own error types, e.g. NotSupported on older GPUs
    return f"unavailable: NVML could not read the energy counter ({e})"
