"""One config per DARTS-family method: ``get_config(arg)``; ``arg`` 'nb201' gives its NAS-Bench-201
search (experiments/compare_methods.py reads that one)."""

import types

from experiments.configs import darts_cifar10, default, nb201_cifar10, nb201_digits

# The words a method config's ``arg`` takes, comma-separated: 'nb201' the NAS-Bench-201 space (else
# the DARTS space), 'cifar10' CIFAR-10 at the papers' network sizes (else the embedded digits),
# 'quick' a smoke-test size.
WORDS = ("nb201", "cifar10", "quick")


def parse(arg: str, known: tuple[str, ...] = WORDS) -> tuple[set[str], types.ModuleType]:
  """``arg``'s words (ones not in ``known`` raise, naming the known) and the base config module
  they pick: ``darts_cifar10`` / ``nb201_cifar10`` with 'cifar10', else ``default`` /
  ``nb201_digits``."""
  words = {w.strip() for w in arg.split(",") if w.strip()}
  unknown = words - set(known)
  if unknown:
    raise ValueError(f"unknown config arg(s) {sorted(unknown)}; use {', '.join(known)}")
  nb201 = "nb201" in words
  if "cifar10" in words:
    return words, nb201_cifar10 if nb201 else darts_cifar10
  return words, nb201_digits if nb201 else default
