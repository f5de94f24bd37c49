"""Input-pipeline throughput: images/s from the host's uint8 pixels to augmented float32 batches on
the device, at 32 px and at 224 px.

  python -m benchmarks.input_pipeline                                   # synthetic 32 and 224 px
  python -m benchmarks.input_pipeline --sources=digits,fashion_mnist --batches=200
  python -m benchmarks.input_pipeline --sources=jpeg_224                # ImageNet-style streaming
  python -m benchmarks.input_pipeline --search_step --layers=8 --channels=16   # and the search step

Prints one JSON line per (source, augmentation, prefetch): the rate of ``Batches`` alone (the host
gathering pixels, ``host_images_per_s``) and of ``Batches`` followed by the device ``Feed``
(transfer, normalization and augmentation on the default backend, waited for:
``images_per_s``). Sources: ``synthetic_32`` (50,000 random 32x32x3 uint8 images, CIFAR-10's
size), ``synthetic_224`` (2,000 random 224x224x3 uint8 images), dataset names (loaded as search
loads them; ``--data_dir``), and ``jpeg_224``: a folder tree of random-pixel JPEGs written to a
temporary folder and streamed as ImageNet is (decoding, random resized crop to 224, flip and
colour jitter on the host with grain's threads; normalization on the device). With
``--search_step`` a last line gives the consumption rate of the first-order DARTS search step (two
batches per step) as ``benchmarks.search_step`` builds it (``--layers``, ``--channels``).
"""

import json
import os
import pathlib
import tempfile
import time

import jax
import numpy as np
from absl import app, flags

from benchmarks import search_step
from darts_jax import data

_SOURCES = flags.DEFINE_list("sources", ["synthetic_32", "synthetic_224"],
                             "synthetic_32, synthetic_224, jpeg_224 or dataset names.")
_DATA_DIR = flags.DEFINE_string("data_dir", "", "TFDS data_dir or folder of local dataset files.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Images per batch.")
_BATCHES = flags.DEFINE_integer("batches", 100, "Batches timed per setting.")
_PREFETCH = flags.DEFINE_list("prefetch", ["0", "2"], "Prefetch depths to time.")
_JPEGS = flags.DEFINE_integer("jpegs", 512, "Images in the jpeg_224 tree.")
_THREADS = flags.DEFINE_integer("threads", 8, "Decoding threads of the jpeg_224 stream.")
_SEARCH_STEP = flags.DEFINE_bool("search_step", False,
                                 "Also compile and time the first-order search step (minutes).")

AUGMENTATIONS = {"none": None, "crop_flip": data.Augment(4, True, 0),
                 "crop_flip_cutout16": data.Augment(4, True, 16)}
CIFAR10 = data.Normalization(255.0, *data.loading.STATS["cifar10"])  # the synthetic images' stats


def _synthetic(count: int, side: int) -> data.Split:
  rng = np.random.default_rng(0)
  return data.Split(rng.integers(0, 256, (count, side, side, 3), dtype=np.uint8),
                    rng.integers(0, 10, count).astype(np.int32), CIFAR10)


def _jpeg_tree(root: pathlib.Path, count: int) -> None:
  """``count`` random-pixel JPEGs of 256x320 (ImageNet's typical size) in 4 class folders."""
  from PIL import Image
  rng = np.random.default_rng(0)
  for i in range(count):
    folder = root / "train" / f"n{i % 4:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)).save(
        folder / f"{i}.JPEG", quality=90)
  for k in range(4):  # the folder layout wants a val tree too
    folder = root / "val" / f"n{k:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((256, 320, 3), np.uint8)).save(folder / "0.JPEG")


def rate(batches, feed, count: int) -> float:
  """Images per second of ``count`` batches (after one warm-up batch), each fed to the device and
  waited for when ``feed`` is given."""
  def one():
    batch = next(batches)
    if feed is not None:
      batch = jax.block_until_ready(feed(batch))
    return batch
  one()
  start = time.perf_counter()
  for _ in range(count):
    one()
  return count * _BATCH_SIZE.value / (time.perf_counter() - start)


def _in_memory(name: str, split: data.Split) -> None:
  for setting, augment in AUGMENTATIONS.items():
    if augment is not None and name in data.augment.NO_FLIP:
      augment = data.Augment(augment.crop_padding, False, augment.cutout)
    for prefetch in map(int, _PREFETCH.value):
      batches = lambda: data.Batches(split, _BATCH_SIZE.value, seed=0, keys=augment is not None,
                                     prefetch=prefetch)
      host = rate(batches(), None, _BATCHES.value)
      fed = rate(batches(), data.Feed(split.normalization, augment), _BATCHES.value)
      print(json.dumps({"source": name, "augment": setting, "prefetch": prefetch,
                        "batch_size": _BATCH_SIZE.value,
                        "image_shape": list(split.images.shape[1:]),
                        "host_dtype": str(split.images.dtype), "host_images_per_s": round(host),
                        "images_per_s": round(fed), "backend": jax.default_backend()}), flush=True)


def _streamed() -> None:
  with tempfile.TemporaryDirectory() as folder:
    _jpeg_tree(pathlib.Path(folder), _JPEGS.value)
    dataset = data.open_from_config({"name": "imagenet", "data_dir": folder, "image_size": 224,
                                     "threads": _THREADS.value, "prefetch": 2})
    split = dataset.train
    batches = data.StreamedBatches(split, _BATCH_SIZE.value, seed=0)
    count = min(_BATCHES.value, batches.batches_per_pass - 1)
    fed = rate(batches, data.Feed(split.normalization), count)
    batches.close()
    print(json.dumps({"source": "jpeg_224", "augment": "random_resized_crop_flip_jitter",
                      "threads": _THREADS.value, "batch_size": _BATCH_SIZE.value,
                      "image_shape": list(split.image_shape), "images_per_s": round(fed),
                      "cpu_count": os.cpu_count(), "backend": jax.default_backend()}), flush=True)


def main(argv):
  del argv
  for name in _SOURCES.value:
    if name == "jpeg_224":
      _streamed()
      continue
    try:
      split = {"synthetic_32": lambda: _synthetic(50_000, 32),
               "synthetic_224": lambda: _synthetic(2_000, 224)}.get(name, lambda: (
                   data.load_from_config({"name": name, "data_dir": _DATA_DIR.value}).train))()
    except data.DatasetUnavailableError as e:
      print(json.dumps({"source": name, "error": str(e)}), flush=True)
      continue
    _in_memory(name, split)
  if _SEARCH_STEP.value:
    result = search_step.run_case("first_order", _BATCH_SIZE.value)
    rate_ = 2 * _BATCH_SIZE.value / result["step_median_s"]
    print(json.dumps({"source": "search_step", "mode": "first_order",
                      "batch_size": _BATCH_SIZE.value, "images_per_s": round(rate_),
                      "step_median_s": result["step_median_s"]}), flush=True)


if __name__ == "__main__":
  app.run(main)
