"""Which device a fit runs on, and the CUDA speed-ups it uses there.

`resolve_device` turns a user's setting ("auto", "cpu", "cuda:1", ...) into a `torch.device`, or
says which devices exist. `Acceleration` is one fit's plan of bf16 autocast, channels_last and
`torch.compile`: they pay off on a GPU (tensor cores, fused kernels) and are left out on the CPU,
which stays plain float32 and deterministic.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from nnlab.errors import ConfigError

#: compiling takes tens of seconds; on shorter fits it costs more than it saves
COMPILE_MIN_STEPS = 500


def available_devices() -> list[str]:
    """Names of the devices this machine has, e.g. ["cpu", "cuda", "cuda:0"]."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device a setting names, checked against the machine.

    Parameters
    ----------
    device : str or torch.device, optional
        None or "auto": the GPU when there is one, else the CPU; or "cpu", "cuda", "cuda:1",
        "mps", or a `torch.device`.

    Returns
    -------
    torch.device
        With an index for CUDA ("cuda" -> "cuda:<current>"), so it compares equal to the device of
        a tensor placed there.
    """
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise ConfigError(
            f"device {device!r} is not a device name ({error}); "
            f"use 'auto' or one of: {', '.join(available_devices())}."
        ) from None
    if parsed.type == "cpu":
        return torch.device("cpu")
    if parsed.type == "cuda" and torch.cuda.is_available():
        index = torch.cuda.current_device() if parsed.index is None else parsed.index
        if index < torch.cuda.device_count():
            return torch.device("cuda", index)
    if parsed.type == "mps" and torch.backends.mps.is_available():
        return parsed
    raise ConfigError(
        f"device {device!r} is not available on this machine; it has: "
        f"{', '.join(available_devices())}. Use one of these, or 'auto'."
    )


@dataclass(frozen=True)
class Acceleration:
    """The CUDA speed-ups one fit uses; all off (the default) means plain float32.

    Parameters
    ----------
    autocast : bool
        Run forward and loss under bf16 autocast (weights and gradients stay float32, so no loss
        scaling is needed, unlike float16).
    channels_last : bool
        Keep the model's conv weights and the 4-D inputs in channels_last (NHWC) memory format,
        the layout tensor-core convolutions use.
    compile : bool
        Train through `torch.compile(model)`.
    tuned_backends : bool
        While fitting, let cuDNN autotune convolutions and matmuls run in TF32.
    """

    autocast: bool = False
    channels_last: bool = False
    compile: bool = False
    tuned_backends: bool = False

    @classmethod
    def plan(
        cls, device: torch.device, model: nn.Module, steps_total: int, enabled: bool = True
    ) -> "Acceleration":
        """What helps this fit: nothing off CUDA or when not `enabled`.

        Parameters
        ----------
        device : torch.device
        model : nn.Module
        steps_total : int
            Compiling pays off only from `COMPILE_MIN_STEPS` steps.
        enabled : bool
            `fit(accelerate=...)`.
        """
        if not enabled or device.type != "cuda":
            return cls()
        return cls(
            autocast=torch.cuda.is_bf16_supported(including_emulation=False),
            # channels_last speeds up convolutions only; a model without any gains nothing, and
            # an MLP that flattens its input with .view() would fail on NHWC strides
            channels_last=any(isinstance(m, nn.Conv2d) for m in model.modules()),
            compile=steps_total >= COMPILE_MIN_STEPS,
            tuned_backends=True,
        )

    def prepare_model(self, model: nn.Module) -> nn.Module:
        """Convert `model` in place to the planned memory format; return what to call forward on.

        The parameters stay the same objects (an optimizer built on them still holds them), and
        state dicts keep coming from `model` itself, not from the compiled wrapper.
        """
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return torch.compile(model) if self.compile else model

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        """A batch in the planned memory format (4-D inputs only)."""
        if self.channels_last and x.ndim == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def autocast_context(self) -> contextlib.AbstractContextManager:
        """The context to run forward and loss in."""
        if self.autocast:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def backend_settings(self) -> Iterator[None]:
        """While a CUDA fit runs: cuDNN autotuning and TF32 matmuls; restored afterwards.

        Batch shapes repeat in a fit, so autotuning each convolution once pays off; TF32 speeds up
        what runs in float32 outside autocast.
        """
        if not self.tuned_backends:
            yield
            return
        benchmark = torch.backends.cudnn.benchmark
        precision = torch.get_float32_matmul_precision()
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = benchmark
            torch.set_float32_matmul_precision(precision)
