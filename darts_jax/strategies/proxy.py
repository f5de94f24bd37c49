"""The proxy-training evaluator: each query retrains the decoded cell briefly, from scratch, with the
proxy knobs of a retrain config (few epochs, a data subset, a lower resolution) on a local dataset."""

from __future__ import annotations

import contextlib
import os
import tempfile

import ml_collections

from darts_jax import retrain
from darts_jax.strategies.encoding import Encoding


class ProxyEvaluator:
  """Scores an architecture by its last epoch's accuracy on the held-out validation split (as
  NAS-Bench-201's 12-epoch signal; the test split never enters a score). Each query trains anew with
  ``config.seed`` and counts, repeats included, as the protocol charges every one."""

  def __init__(self, config: ml_collections.ConfigDict, encoding: Encoding, *,
               workdir: str | None = None, report=lambda message: None):
    self.config = ml_collections.ConfigDict(config.to_dict())
    self.config.select_on_val = True
    self.encoding, self.workdir, self.report = encoding, workdir, report
    self.num_queries = 0

  def __call__(self, arch) -> float:
    self.config.genotype = str(self.encoding.decode(arch))
    with self._query_dir() as workdir:
      result = retrain.train_and_evaluate(self.config, workdir, report=self.report)
    self.num_queries += 1
    return result.history[-1]["val_acc"]

  def _query_dir(self):
    """A fresh folder per query: ``<workdir>/query_NNNN`` (kept), or a temporary one (removed). A
    folder left by an earlier run is refused: retraining would resume from it, a silent cache."""
    if self.workdir is None:
      return tempfile.TemporaryDirectory(prefix="proxy_query_")
    path = os.path.join(self.workdir, f"query_{self.num_queries:04d}")
    if os.path.exists(path):
      raise FileExistsError(f"{path} exists; give the proxy evaluator an empty workdir")
    return contextlib.nullcontext(path)
