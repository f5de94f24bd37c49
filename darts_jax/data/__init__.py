"""Datasets for search and retraining: NHWC uint8 pixels and integer labels as numpy arrays on the
host; normalization and augmentation run on the device (``Feed``).

Sources, tried in order: tensorflow-datasets (``data_dir``), local files (CIFAR python/binary, IDX,
SVHN .mat), and the embedded default, scikit-learn's bundled digits (1,797 real 8x8 grey images).
ImageNet (a folder tree or TFDS ``imagenet2012``) is streamed from disk with grain instead
(``open_from_config``, ``StreamedBatches``).
"""

from darts_jax.data.augment import Augment
from darts_jax.data.dataset import (CorruptDataError, Dataset, DatasetUnavailableError,
                                    Normalization, Split)
from darts_jax.data.feed import Feed
from darts_jax.data.loading import (augmentation, batches_from_config, config_schema, describe,
                                    feed_from_config, load, load_from_config, open_from_config,
                                    record)
from darts_jax.data.pipeline import Batches
from darts_jax.data.streaming import (StreamedBatches, StreamedDataset, StreamedSplit, in_order,
                                      join)

__all__ = ["Augment", "Batches", "CorruptDataError", "Dataset", "DatasetUnavailableError", "Feed",
           "Normalization", "Split", "StreamedBatches", "StreamedDataset", "StreamedSplit",
           "augmentation", "batches_from_config", "config_schema", "describe", "feed_from_config",
           "in_order", "join", "load", "load_from_config", "open_from_config", "record"]
