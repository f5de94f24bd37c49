"""Input-pipeline throughput: images/s of ``data.Batches`` per source and augmentation setting.

  python -m benchmarks.input_pipeline --sources=synthetic_cifar,digits,fashion_mnist --batches=200
  python -m benchmarks.input_pipeline --search_step --layers=8 --channels=16   # and the search step

Prints one JSON line per (source, augmentation, prefetch). ``synthetic_cifar`` is 50k random
32x32x3 images held in memory; named datasets load as search does (``--data_dir`` for TFDS or local
files). With ``--search_step`` a last line gives the consumption rate of the first-order DARTS
search step (two batches per step) as ``benchmarks.search_step`` builds it (``--layers``,
``--channels``).
"""

import json
import time

import numpy as np
from absl import app, flags

from benchmarks import search_step
from darts_jax import data

_SOURCES = flags.DEFINE_list("sources", ["synthetic_cifar", "digits", "fashion_mnist"],
                             "Dataset names, or synthetic_cifar.")
_DATA_DIR = flags.DEFINE_string("data_dir", "", "TFDS data_dir or folder of local dataset files.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Images per batch.")
_BATCHES = flags.DEFINE_integer("batches", 200, "Batches timed per setting.")
_PREFETCH = flags.DEFINE_list("prefetch", ["0", "2"], "Prefetch depths to time.")
_SEARCH_STEP = flags.DEFINE_bool("search_step", False,
                                 "Also compile and time the first-order search step (minutes).")

AUGMENTATIONS = {"none": None, "crop_flip": {"crop_padding": 4, "flip": True},
                 "crop_flip_cutout16": {"crop_padding": 4, "flip": True, "cutout": 16}}


def _split(name: str) -> data.Split:
  if name == "synthetic_cifar":
    rng = np.random.default_rng(0)
    return data.Split(rng.standard_normal((50_000, 32, 32, 3), np.float32),
                      rng.integers(0, 10, 50_000).astype(np.int32))
  return data.load_from_config({"name": name, "data_dir": _DATA_DIR.value}).train


def time_batches(split: data.Split, augment, prefetch: int) -> float:
  """Images per second drawn from a fresh iterator over ``split`` (after one warm-up batch)."""
  batches = data.Batches(split, _BATCH_SIZE.value, seed=0, augment=augment, prefetch=prefetch)
  next(batches)
  start = time.perf_counter()
  for _ in range(_BATCHES.value):
    next(batches)
  return _BATCHES.value * _BATCH_SIZE.value / (time.perf_counter() - start)


def main(argv):
  del argv
  for name in _SOURCES.value:
    try:
      split = _split(name)
    except data.DatasetUnavailableError as e:
      print(json.dumps({"source": name, "error": str(e)}), flush=True)
      continue
    for setting, options in AUGMENTATIONS.items():
      augment = data.augmentation({"name": name, "augment": options})
      for prefetch in map(int, _PREFETCH.value):
        rate = time_batches(split, augment, prefetch)
        print(json.dumps({"source": name, "augment": setting, "prefetch": prefetch,
                          "batch_size": _BATCH_SIZE.value, "images_per_s": round(rate),
                          "image_shape": list(split.images.shape[1:])}), flush=True)
  if _SEARCH_STEP.value:
    result = search_step.run_case("first_order", _BATCH_SIZE.value)
    rate = 2 * _BATCH_SIZE.value / result["step_median_s"]
    print(json.dumps({"source": "search_step", "mode": "first_order",
                      "batch_size": _BATCH_SIZE.value, "images_per_s": round(rate),
                      "step_median_s": result["step_median_s"]}), flush=True)


if __name__ == "__main__":
  app.run(main)
