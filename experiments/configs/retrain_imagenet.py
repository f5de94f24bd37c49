"""The DARTS ImageNet mobile recipe (quark0/darts ``train_imagenet.py``): 14 cells, C=48, batch 128,
250 epochs, SGD 0.1 decayed ×0.97 per epoch, weight decay 3e-5, label smoothing 0.1, auxiliary 0.4."""

import ml_collections

from experiments.configs import default, retrain


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  del arg
  c = retrain.get_config()
  c.network = ml_collections.ConfigDict({"setting": "imagenet", "channels": 48, "layers": 14})
  c.data = default.dataset("imagenet2012", flip=True,
                           splits={"train": "train[:98%]", "val": "train[98%:]", "test": "validation"})
  c.batch_size, c.epochs = 128, 250
  c.schedule, c.lr, c.lr_gamma, c.weight_decay = "exponential", 0.1, 0.97, 3e-5
  c.label_smoothing, c.auxiliary_weight, c.drop_path = 0.1, 0.4, 0.0
  return c
