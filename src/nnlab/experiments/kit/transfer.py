"""What the fine-tuning experiments share: their settings, smoke scale, splits and input transform.

- `TransferConfig`, `SMOKE_SCALE`: the settings every fine-tuning experiment has (dataset,
  weights, input size, epochs, batch, subset sizes) and its smoke scale on the embedded digits.
- `load_splits`: the limited training and test splits of `cfg.dataset` (the embedded digits
  below full scale where it is missing); `ctx.describe_data` then writes their notes.
- `image_transform`: raw images to the network's input (to [0, 1], resize, grey to RGB,
  normalise), a function of the whole batch.

The starting weights are `nnlab.models.starting`'s, the linear probe `nnlab.train.probe`'s.
"""

from dataclasses import dataclass
from functools import partial

from nnlab.data import ImageSet, transforms
from nnlab.experiments.config import ExperimentConfig, PositiveInt
from nnlab.experiments.context import Context
from nnlab.models.starting import check_weights_setting

#: a smoke run of a fine-tuning experiment: a few embedded digits, 32 px, 2 epochs
SMOKE_SCALE = {
    "dataset": "digits",
    "image_size": 32,
    "epochs": 2,
    "batch_size": 32,
    "train_limit": 256,
    "test_limit": 128,
}


@dataclass
class TransferConfig(ExperimentConfig):
    """Settings every fine-tuning experiment has; each redeclares the defaults of its study."""

    dataset: str = ""
    #: imagenet, none, a .pth file, or run:<id>[/<checkpoint>]
    weights: str = "imagenet"
    image_size: PositiveInt = 224
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 64
    #: at most this many training / test images (a seeded subset); None = the whole split
    train_limit: PositiveInt | None = None
    test_limit: PositiveInt | None = None

    def __post_init__(self):
        super().__post_init__()
        check_weights_setting(self.weights)


def load_splits(ctx: Context, cfg: TransferConfig, test: str = "test") -> tuple[ImageSet, ImageSet]:
    """The `train` and `test` splits of `cfg.dataset`, limited to `train_limit` / `test_limit`.

    Below full scale a missing dataset is replaced by the embedded digits (with a notice).
    """
    limits = {"train": cfg.train_limit, test: cfg.test_limit}
    sets = ctx.load_splits(cfg.dataset, limits, fallback="digits")
    return sets["train"], sets[test]


def image_transform(
    size: int, mean: tuple[float, ...], std: tuple[float, ...]
) -> transforms.Compose:
    """Raw images to network input: [0, 1], bilinear resize, grey to RGB, normalise.

    Parameters
    ----------
    size : int
        Side of the square input, e.g. 224.
    mean, std : tuple of float
        Three values each, for the RGB channels.

    Returns
    -------
    Compose
        uint8 [B, 1 or 3, H, W] -> float32 [B, 3, size, size].
    """
    return transforms.Compose(
        transforms.to_float,
        partial(transforms.resize, size=size),  # in float: no rounding to uint8 on the way
        transforms.grey_to_rgb,
        partial(transforms.normalize, mean=mean, std=std),
    )
