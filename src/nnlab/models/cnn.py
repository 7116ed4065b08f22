"""The configurable CNN family of the architecture studies: a channel list and how it downsamples.

`CNN((32, 64, 128))` is the study's CNN-1: 3×3 convolutions, stride 1 in the first and stride 2
in the others (no pooling), then flatten and a dense layer to the classes. The same class gives
the other members (more or fewer layers, other widths), the pooling variant (stride-1
convolutions, each former stride s done by an s×s max-pool instead), and an optional hidden
dense head. Layers are named (`conv1`, `act1`, `pool1`, ..., `flatten`, `hidden1`, `fc`), so
hooks and reports can address them.
"""

from collections import OrderedDict
from collections.abc import Sequence

from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.mlp import activation_class, check_widths
from nnlab.models.registry import register_model


@register_model("cnn")
class CNN(nn.Sequential):
    """Convolutions (each + activation, optionally + max-pool), flatten, dense head.

    Parameters
    ----------
    channels : sequence of int
        Output channels of each convolution, e.g. (32, 64, 128).
    in_chans : int
        Image channels (1 grey, 3 RGB).
    num_classes : int
        Outputs.
    image_size : int or (int, int)
        Height = width of the input, or its (height, width), to size the first dense layer.
    strides : sequence of int, optional
        Stride of each convolution; default 1 for the first and 2 for the others.
    pool : bool
        Downsample with max-pooling instead: every convolution has stride 1 and one with a
        configured stride s > 1 is followed by an s×s max-pool.
    kernel_size : int
        Odd; padding is kernel_size // 2, so a stride-1 convolution keeps the map size.
    head : sequence of int
        Hidden dense widths between flatten and the output layer (default none).
    activation : str
        "relu", "sigmoid" or "tanh", after every convolution and hidden dense layer.

    Input [B, in_chans, height, width]; output logits [B, num_classes]. A convolution from c to
    c' channels has k*k*c*c' + c' parameters, a dense layer from n to n' has n*n' + n'; the
    first dense layer sees channels[-1] * h * w inputs, (h, w) being the last map's size
    (`feature_size`).
    """

    def __init__(
        self,
        channels: Sequence[int],
        *,
        in_chans: int = 1,
        num_classes: int = 10,
        image_size: int | tuple[int, int] = 28,
        strides: Sequence[int] | None = None,
        pool: bool = False,
        kernel_size: int = 3,
        head: Sequence[int] = (),
        activation: str = "relu",
    ):
        channels = check_widths("CNN", channels)
        height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
        check_widths("CNN", [in_chans, num_classes, height, width, kernel_size, *head])
        if not channels:
            raise ConfigError("CNN needs at least one convolution; e.g. channels=(32, 64, 128).")
        if kernel_size % 2 == 0:
            raise ConfigError(f"CNN kernel_size must be odd (3, 5, ...), got {kernel_size}.")
        strides = [1] + [2] * (len(channels) - 1) if strides is None else list(strides)
        check_widths("CNN strides", strides)
        if len(strides) != len(channels):
            raise ConfigError(
                f"CNN got {len(channels)} channel counts {channels} but {len(strides)} strides "
                f"{strides}; give one stride per convolution."
            )
        act = activation_class(activation)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        size, previous = (height, width), in_chans
        for i, (out, stride) in enumerate(zip(channels, strides, strict=True), start=1):
            conv_stride = 1 if pool else stride
            layers[f"conv{i}"] = nn.Conv2d(
                previous, out, kernel_size, stride=conv_stride, padding=kernel_size // 2
            )
            layers[f"act{i}"] = act()
            size = tuple((s - 1) // conv_stride + 1 for s in size)  # "same": ceil(s / stride)
            if pool and stride > 1:
                layers[f"pool{i}"] = nn.MaxPool2d(stride)
                size = tuple(s // stride for s in size)
            if min(size) < 1:
                raise ConfigError(
                    f"CNN: a {height}×{width} image shrinks to nothing after "
                    f"convolution {i} (strides {strides}); use fewer layers or stride 1."
                )
            previous = out
        layers["flatten"] = nn.Flatten()  # [B, C, h, w] -> [B, C * h * w]
        features = previous * size[0] * size[1]
        for j, hidden in enumerate(head, start=1):
            layers[f"hidden{j}"] = nn.Linear(features, hidden)
            layers[f"hidden_act{j}"] = act()
            features = hidden
        layers["fc"] = nn.Linear(features, num_classes)
        super().__init__(layers)
        #: (height, width) of the last feature map
        self.feature_size = size

    def conv_names(self) -> list[str]:
        """Names of the convolutions in order ("conv1", "conv2", ...)."""
        return [name for name, m in self.named_children() if isinstance(m, nn.Conv2d)]
