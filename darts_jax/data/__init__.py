"""Datasets for search and retraining: NHWC float images and integer labels as numpy arrays.

Sources, tried in order: tensorflow-datasets (``data_dir``), local files (CIFAR python/binary, IDX,
SVHN .mat), and the embedded default, scikit-learn's bundled digits (1,797 real 8x8 grey images).
"""

from darts_jax.data.augment import Augment
from darts_jax.data.dataset import CorruptDataError, Dataset, DatasetUnavailableError, Split
from darts_jax.data.loading import augmentation, describe, load, load_from_config, record
from darts_jax.data.pipeline import Batches

__all__ = ["Augment", "Batches", "CorruptDataError", "Dataset", "DatasetUnavailableError", "Split",
           "augmentation", "describe", "load", "load_from_config", "record"]
