"""Which device a fit runs on, in which precision, and the speed-ups it uses there.

`resolve_device` turns a user's setting ("auto", "cpu", "cuda:1", ...) into a `torch.device`, or
says which devices exist. `Speed` is what the user asks (`--precision auto|fp32|bf16`,
`--compile`); `Acceleration` is one fit's plan from it: bf16 autocast and channels_last where the
device computes bf16 natively (a CUDA GPU, a CPU with AMX or AVX512-BF16) and float32 elsewhere,
so an AVX2-only CPU is never slowed down; `torch.compile` on CUDA for long fits, on the CPU only
when asked (it measured slower there).
"""

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import threadpoolctl
import torch
from torch import nn

from nnlab.errors import ConfigError

#: compiling takes tens of seconds; on shorter fits it costs more than it saves
COMPILE_MIN_STEPS = 500


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Within: `threads` torch threads and as many in every BLAS/OpenMP pool numpy and scipy use
    (threadpoolctl), so the NumPy studies do not spin more threads than asked. None: no limit."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpoolctl.threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


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


#: the precision settings a fit takes: "auto" picks bf16 where the device computes it natively
PRECISIONS = ("auto", "fp32", "bf16")
#: /proc/cpuinfo flags of CPUs with native bf16 arithmetic (Intel AMX, AVX512-BF16)
_BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo is not readable)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes in bf16 natively: a CUDA GPU of compute capability 8+, or a CPU
    with AMX or AVX512-BF16. Elsewhere bf16 is emulated and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return bool(_BF16_CPU_FLAGS & cpu_flags())
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """ "fp32" or "bf16": what a `precision` setting means on `device` ("auto": bf16 if native)."""
    if precision not in PRECISIONS:
        raise ConfigError(
            f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}; 'auto' uses "
            "bf16 where the device computes it natively and float32 elsewhere."
        )
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


@dataclass(frozen=True)
class Speed:
    """What a user asks of a fit's speed-ups (the `--precision` and `--compile` options).

    Parameters
    ----------
    precision : str
        "auto" (bf16 where native, else float32), "fp32" or "bf16".
    compile : bool or None
        Train through `torch.compile`: True or False; None leaves it to the plan (on CUDA for
        fits of `COMPILE_MIN_STEPS` steps or more; never on the CPU, where it measured slower).
    sync_bn : bool
        In a fit over several processes, BatchNorm statistics over the whole global batch
        (SyncBatchNorm, CUDA only) rather than over each rank's part (`--sync-bn`).
    """

    precision: str = "auto"
    compile: bool | None = None
    sync_bn: bool = False

    def __post_init__(self):
        resolve_precision(self.precision, torch.device("cpu"))  # a bad name is refused here


#: what a fit gets when nothing is asked: precision "auto", torch.compile left to the plan
DEFAULT_SPEED = Speed()


@dataclass(frozen=True)
class Acceleration:
    """The speed-ups one fit uses; the default is plain float32, as `evaluate` runs.

    Parameters
    ----------
    device_type : str
        "cpu" or "cuda": where autocast runs.
    precision : str
        "fp32", or "bf16": forward and loss under bf16 autocast (weights, gradients and the
        optimiser stay float32, so no loss scaling is needed, unlike float16).
    channels_last : bool
        Keep the model's conv weights and the 4-D inputs in channels_last (NHWC) memory format,
        the layout bf16 convolutions (tensor cores, oneDNN on AMX) run fastest in.
    compile : bool
        Train through `torch.compile(model)`.
    tuned_backends : bool
        While fitting on CUDA, let cuDNN autotune convolutions (and, in bf16 fits, the float32
        matmuls outside autocast run in TF32).
    """

    device_type: str = "cpu"
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    tuned_backends: bool = False

    @classmethod
    def plan(
        cls, device: torch.device, model: nn.Module, steps_total: int, speed: Speed = DEFAULT_SPEED
    ) -> "Acceleration":
        """What this fit uses on `device`, given what the user asked (`speed`).

        Parameters
        ----------
        device : torch.device
        model : nn.Module
            channels_last only for a model with convolutions.
        steps_total : int
            With `speed.compile` None, CUDA compiles only from `COMPILE_MIN_STEPS` steps.
        speed : Speed
        """
        precision = resolve_precision(speed.precision, device)
        cuda = device.type == "cuda"
        compile_ = speed.compile
        if compile_ is None:
            compile_ = cuda and steps_total >= COMPILE_MIN_STEPS
        return cls(
            device_type=device.type,
            precision=precision,
            # channels_last speeds up convolutions only; a model without any gains nothing, and
            # an MLP that flattens its input with .view() would fail on NHWC strides
            channels_last=precision == "bf16"
            and any(isinstance(m, nn.Conv2d) for m in model.modules()),
            compile=compile_,
            tuned_backends=cuda,
        )

    def describe(self) -> str:
        """In words, for the report: "fp32", "bf16 autocast + channels_last + torch.compile"."""
        parts = ["bf16 autocast" if self.precision == "bf16" else "fp32"]
        parts += ["channels_last"] * self.channels_last + ["torch.compile"] * self.compile
        return " + ".join(parts)

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
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device_type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def backend_settings(self) -> Iterator[None]:
        """While a CUDA fit runs: cuDNN autotuning (and TF32 matmuls in a bf16 fit); restored
        afterwards.

        Batch shapes repeat in a fit, so autotuning each convolution once pays off; TF32 speeds up
        what runs in float32 outside autocast. A float32 fit keeps full float32 matmuls.
        """
        if not self.tuned_backends:
            yield
            return
        benchmark = torch.backends.cudnn.benchmark
        precision = torch.get_float32_matmul_precision()
        torch.backends.cudnn.benchmark = True
        if self.precision == "bf16":
            torch.set_float32_matmul_precision("high")
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = benchmark
            torch.set_float32_matmul_precision(precision)
