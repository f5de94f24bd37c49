"""The DARTS ImageNet mobile recipe: quark0/darts ``cnn/train_imagenet.py`` as its README runs it
(``python train_imagenet.py --auxiliary``, defaults of the final version; early versions defaulted
to 1000 epochs and C=50) and as the paper states it (Liu et al. 2019, Sec. 3.3: 250 epochs, batch
128, weight decay 3e-5, SGD lr 0.1 decayed by 0.97 each epoch; 14 cells, C=48).

  python -m experiments.retrain --config=experiments/configs/retrain_imagenet.py \\
      --config.data.data_dir=DIR    # DIR/train/<class>/*.JPEG + DIR/val/<class>/*.JPEG, or TFDS

ImageNet is streamed from disk (grain), never loaded whole; the ``val`` folder is the test split.
"""

import ml_collections

from experiments.configs import retrain


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  del arg
  c = retrain.get_config()
  c.genotype = "DARTS_V2"  # train_imagenet.py --arch default 'DARTS' (= DARTS_V2)
  # NetworkImageNet; --init_channels 48, --layers 14
  c.network = ml_collections.ConfigDict({"setting": "imagenet", "channels": 48, "layers": 14})
  c.data = ml_collections.ConfigDict({
      "name": "imagenet",
      "data_dir": "",  # --data: a folder holding train/ and val/ (ImageFolder), or TFDS files
      "download": False,  # TFDS cannot download ImageNet: its archives are placed by hand
      # train on train/ (with select_on_val, 2% of it held out to pick an epoch); the val/ folder
      # is the split train_imagenet.py reports (valid_acc_top1), hence our test split
      "splits": {"train": "train[:98%]", "val": "train[98%:]", "test": "val"},
      "image_size": 224,  # RandomResizedCrop(224); evaluation Resize(256) + CenterCrop(224)
      "augment": {
          "scale_min": 0.08,  # RandomResizedCrop's default scale (0.08, 1.0)
          "flip": True,  # RandomHorizontalFlip()
          "jitter": 0.4,  # ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, ...
          "hue": 0.2,  # ... hue=0.2)
      },
      "subset_fraction": 1.0, "subset_size": 0,  # proxy knobs (of train and val), off
      # reading: the script's DataLoader has num_workers=4 processes; here threads decode in each
      # process and workers adds processes (grain)
      "threads": 8, "workers": 4, "prefetch": 4,
  })
  c.batch_size = 128  # --batch_size 128
  c.eval_batch_size = 128  # valid_queue batch_size=args.batch_size
  c.epochs = 250  # --epochs 250
  c.schedule = "exponential"  # StepLR(optimizer, decay_period=1, gamma=0.97)
  c.lr, c.lr_gamma = 0.1, 0.97  # --learning_rate 0.1, --gamma 0.97
  c.momentum = 0.9  # --momentum 0.9
  c.weight_decay = 3e-5  # --weight_decay 3e-5
  c.clip_norm = 5.0  # --grad_clip 5
  c.label_smoothing = 0.1  # --label_smooth 0.1 (CrossEntropyLabelSmooth)
  c.auxiliary_weight = 0.4  # --auxiliary (README) with --auxiliary_weight 0.4
  c.drop_path = 0.0  # --drop_path_prob 0
  return c
