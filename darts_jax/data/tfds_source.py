"""tensorflow-datasets as a source, imported lazily (``pip install 'darts_jax[tfds]'``).

Prepared datasets are read through ``tfds.data_source`` (array_record: no TensorFlow, but pillow); a
dataset prepared in the TFRecord format is read through ``tfds.load`` when TensorFlow is installed.
Nothing is downloaded unless ``download`` is set.
"""

from __future__ import annotations

import os

import numpy as np

from darts_jax.data.dataset import RawDataset


def read(tfds_name: str, splits: dict[str, str], data_dir: str | None, download: bool,
         looked: list[str]) -> RawDataset | None:
  """``splits`` maps our split names to TFDS ones; returns None (noting why in ``looked``) when TFDS
  is not installed or the dataset is not prepared in ``data_dir``."""
  try:
    import tensorflow_datasets as tfds
  except ImportError:
    looked.append("TFDS (not installed: pip install 'darts_jax[tfds]')")
    return None
  builder = tfds.builder(tfds_name, data_dir=data_dir)
  where = f"TFDS {tfds_name} in {builder.data_dir}"
  # the file builder.is_prepared() looks for, checked without its warning about absent folders
  if not download and not os.path.isfile(os.path.join(builder.data_dir, "dataset_info.json")):
    looked.append(f"{where} (not prepared; download=False)")
    return None
  try:
    sources = {ours: tfds.data_source(tfds_name, split=theirs, data_dir=data_dir,
                                      download=download) for ours, theirs in splits.items()}
    arrays = {ours: _stack(source) for ours, source in sources.items()}
  except NotImplementedError:  # prepared as TFRecords: no random access
    arrays = _load_with_tensorflow(tfds, tfds_name, splits, data_dir, where)
  num_classes = builder.info.features["label"].num_classes
  return RawDataset(arrays, num_classes, where)


def _stack(source) -> tuple[np.ndarray, np.ndarray]:
  examples = [source[i] for i in range(len(source))]
  return (np.stack([np.asarray(e["image"]) for e in examples]),
          np.asarray([e["label"] for e in examples], np.int32))


def _load_with_tensorflow(tfds, tfds_name, splits, data_dir, where):
  try:
    import tensorflow  # noqa: F401  (tfds.load needs it for TFRecord files)
  except ImportError as e:
    raise ImportError(f"{where} is prepared in the TFRecord format, which needs tensorflow; "
                      "install it, or prepare the dataset with file_format='array_record'") from e
  arrays = {}
  for ours, theirs in splits.items():
    images, labels = tfds.as_numpy(tfds.load(tfds_name, split=theirs, data_dir=data_dir,
                                             batch_size=-1, as_supervised=True, download=False))
    arrays[ours] = (images, labels.astype(np.int32))
  return arrays
