"""Honest progress for epoch loops: compile time reported apart, ETAs from the steady step rate.

The first step of a run compiles the step program (seconds to minutes on CPU); an ETA that counts it
is off by that much for the whole first epoch. ``Progress`` times the compile on its own and
measures the step rate from the steps after it only.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def duration(seconds: float) -> str:
  """``'42s'``, ``'3m05s'`` or ``'2h10m'``."""
  seconds = max(0, int(round(seconds)))
  if seconds < 60:
    return f"{seconds}s"
  if seconds < 3600:
    return f"{seconds // 60}m{seconds % 60:02d}s"
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
  """Counts the steps of a run of ``total`` steps (``done`` already done before a resume).

  ``step()`` after each step prints a line at most every ``every`` seconds within an epoch:
  steps done, steps/s and the ETA of the run; ``compiled(seconds)`` records the compile."""

  def __init__(self, total: int, done: int = 0, *, report: Callable[[str], None] = print,
               every: float = 30.0, clock: Callable[[], float] = time.monotonic):
    self.total, self.done, self.report, self.every, self.clock = total, done, report, every, clock
    self.compile_seconds = None
    self._started = None  # clock at the end of the first (compiling) step
    self._timed_steps = 0
    self._last_line = clock()

  def compiled(self, seconds: float) -> None:
    self.compile_seconds = seconds

  def exclude(self, seconds: float) -> None:
    """Leaves ``seconds`` of work between steps (checkpoints, diagnostics, their compiles) out of
    the step rate."""
    if self._started is not None:
      self._started += seconds

  def rate(self) -> float | None:
    """Steps per second since the first step (compile excluded); None before two steps."""
    if self._started is None or not self._timed_steps:
      return None
    elapsed = self.clock() - self._started
    return self._timed_steps / elapsed if elapsed > 0 else None

  def eta(self) -> float | None:
    rate = self.rate()
    return None if rate is None else (self.total - self.done) / rate

  def eta_text(self) -> str:
    eta = self.eta()
    return "eta --" if eta is None else f"eta {duration(eta)}"

  def step(self, label: str = "") -> None:
    self.done += 1
    now = self.clock()
    if self._started is None:
      self._started = now
      self._last_line = now
      return
    self._timed_steps += 1
    if now - self._last_line >= self.every and self.done < self.total:
      self._last_line = now
      self.report(f"  {label}step {self.done}/{self.total}  {self.rate():.2f} steps/s  "
                  f"{self.eta_text()}")
