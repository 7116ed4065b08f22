"""A bounded fuzz pass over the file readers: mutated publisher files load or raise NnlabError.

Each target starts from a small valid file in the publisher's exact format, then truncates it,
flips bits and bytes, and lies in its length fields. Every case must end in a load or in an
`NnlabError` naming the file, within a bounded allocation. `NNLAB_FUZZ_EXAMPLES` raises the
number of cases per target for a longer hunt (CI runs the default, derandomized).
"""

import functools
import gzip
import importlib.util
import io
import os
import pickletools
import struct
import tarfile
import tempfile
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlab.data import fetch as fetch_mod
from nnlab.data import load
from nnlab.data.fetch import Download
from nnlab.data.formats.archive import iter_members
from nnlab.data.formats.idx import read_idx
from nnlab.data.formats.mat import read_mat
from nnlab.data.loaders.cifar import read_batches
from nnlab.data.loaders.fer2013 import read_csv
from nnlab.errors import CorruptFileError, NnlabError

FUZZ = settings(
    max_examples=int(os.environ.get("NNLAB_FUZZ_EXAMPLES", "100")),
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: the most a reader may allocate for these few-kilobyte files (a lie is refused before this)
MAX_PEAK = 64 << 20
#: values a lying length field takes: zero, one, the type's limits and a claim of 10**12 items
LIES = (0, 1, 2, 255, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1, 10**12, 2**63 - 1, 2**64 - 1)


def _sibling(name: str):
    """A sibling test module, for its writers of publisher-format files (no copies of them)."""
    spec = importlib.util.spec_from_file_location(f"_fuzz_{name}", Path(__file__).with_name(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _loads_or_refuses(call, name: str) -> None:
    """Run `call`: it may succeed or raise an NnlabError naming `name`, and stays under MAX_PEAK."""
    tracemalloc.start()
    try:
        call()
    except NnlabError as exc:
        assert name in str(exc), f"the message does not name {name}: {exc}"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MAX_PEAK, f"allocated {peak} bytes for a file of a few kilobytes"


# ---- mutations


@dataclass(frozen=True)
class Field:
    """An unsigned integer field of `size` bytes at `offset` (a length, a count, a dimension)."""

    offset: int
    size: int
    order: str = "little"

    def write(self, data: bytearray, value: int) -> None:
        value %= 1 << (8 * self.size)
        data[self.offset : self.offset + self.size] = value.to_bytes(self.size, self.order)


@dataclass(frozen=True)
class TarSize(Field):
    """A tar header's octal size field; the header checksum is recomputed so the lie is read."""

    offset: int
    size: int = 12

    def write(self, data: bytearray, value: int) -> None:
        header = self.offset - 124
        if value < 8**11:
            field = f"{value:011o}\0".encode()
        else:  # GNU base-256, for sizes the 11 octal digits cannot hold
            field = b"\x80" + (value % (1 << 88)).to_bytes(11, "big")
        data[self.offset : self.offset + 12] = field
        data[header + 148 : header + 156] = b" " * 8
        checksum = sum(data[header : header + 512])
        data[header + 148 : header + 156] = f"{checksum:06o}\0 ".encode()


@st.composite
def mutated(draw, original: bytes, fields: tuple[Field, ...] = ()) -> bytes:
    """`original` after 1-4 edits: a cut, a bit flip, a byte set, or a lie in a length field."""
    data = bytearray(original)
    kinds = ["cut", "flip", "byte"] + ["lie"] * (2 if fields else 0)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(kinds))
        # headers hold the lengths: half the edits land in the first 256 bytes
        pos = draw(st.integers(0, min(255, len(data) - 1)) | st.integers(0, len(data) - 1))
        if kind == "cut":
            del data[pos:]
        elif kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        else:
            field = draw(st.sampled_from(fields))
            if field.offset + field.size <= len(data):
                field.write(data, draw(st.sampled_from(LIES) | st.integers(0, 2**64)))
    return bytes(data)


def _gzipped(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


def _gz_fields(gz: bytes) -> tuple[Field, ...]:
    """The gzip trailer's CRC and ISIZE (uncompressed length mod 2**32)."""
    return (Field(len(gz) - 8, 4), Field(len(gz) - 4, 4))


def _inner_or_outer(raw: bytes, fields: tuple[Field, ...]):
    """A gzipped file mutated inside (lies gzip faithfully carries) or in its compressed bytes."""
    gz = _gzipped(raw)
    return mutated(raw, fields).map(_gzipped) | mutated(gz, _gz_fields(gz))


# ---- IDX (MNIST family), raw and gzipped


def _idx(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes as LeCun's are: magic 0x0000080N, big-endian uint32 sizes."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


_RNG = np.random.default_rng(0)
IDX_IMAGES = _idx(_RNG.integers(0, 256, (6, 28, 28), dtype=np.uint8))
IDX_LABELS = _idx(_RNG.integers(0, 10, 6, dtype=np.uint8))
#: the magic's type and rank bytes, then every dimension (images: 3, labels: 1)
IDX_IMAGE_FIELDS = (Field(2, 1), Field(3, 1)) + tuple(Field(4 + 4 * i, 4, "big") for i in range(3))
IDX_LABEL_FIELDS = (Field(3, 1), Field(4, 4, "big"))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _load_mnist(root: Path, images: bytes, labels: bytes, suffix: str) -> None:
    folder = root / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    (folder / f"t10k-images-idx3-ubyte{suffix}").write_bytes(images)
    (folder / f"t10k-labels-idx1-ubyte{suffix}").write_bytes(labels)
    load("mnist", "test", root=root)


_idx_pair = st.sampled_from(["images", "labels"])


@FUZZ
@given(which=_idx_pair, data=st.data())
def test_fuzz_idx(work, which, data):
    if which == "images":
        images, labels = data.draw(mutated(IDX_IMAGES, IDX_IMAGE_FIELDS)), IDX_LABELS
    else:
        images, labels = IDX_IMAGES, data.draw(mutated(IDX_LABELS, IDX_LABEL_FIELDS))
    _loads_or_refuses(lambda: _load_mnist(work, images, labels, ""), "ubyte")


@FUZZ
@given(which=_idx_pair, data=st.data())
def test_fuzz_idx_gz(work, which, data):
    images, labels = _gzipped(IDX_IMAGES), _gzipped(IDX_LABELS)
    if which == "images":
        images = data.draw(_inner_or_outer(IDX_IMAGES, IDX_IMAGE_FIELDS))
    else:
        labels = data.draw(_inner_or_outer(IDX_LABELS, IDX_LABEL_FIELDS))
    _loads_or_refuses(lambda: _load_mnist(work, images, labels, ".gz"), "ubyte.gz")


# ---- MATLAB v5 (NIST36 and SVHN), as scipy.io.savemat writes the publishers' layout

_nist, _svhn = _sibling("test_nist.py"), _sibling("test_svhn.py")


def _mat_fields(raw: bytes) -> tuple[Field, ...]:
    """Each top-level variable's byte count and, when uncompressed, its dimensions and data size."""
    fields, offset = [], 128
    while offset + 8 <= len(raw):
        mdtype, nbytes = struct.unpack_from("<II", raw, offset)
        fields.append(Field(offset + 4, 4))
        if mdtype == 14:  # miMATRIX: flags (16 bytes), dims, name, data
            dims_bytes = struct.unpack_from("<I", raw, offset + 28)[0]
            fields += [Field(offset + 28, 4)]
            fields += [Field(offset + 32 + 4 * i, 4) for i in range(dims_bytes // 4)]
            name = offset + 32 + -(-dims_bytes // 8) * 8
            small = struct.unpack_from("<I", raw, name)[0] >> 16
            data = (
                name + 8
                if small
                else name + 8 + -(-struct.unpack_from("<I", raw, name + 4)[0] // 8) * 8
            )
            fields.append(Field(data + 4, 4))
        offset += 8 + nbytes
    return tuple(fields)


def _nist_file(folder: Path, compress: bool) -> bytes:
    images, labels = _nist._images(5), np.arange(5) * 7
    path = _nist._write_nist(folder, "nist36", "test", images, labels, 36)
    if compress:  # as MATLAB's `save` (v7 default) writes it
        scipy.io.savemat(path, scipy.io.loadmat(path), do_compression=True)
    return path.read_bytes()


def _svhn_file(folder: Path, compress: bool) -> bytes:
    X, y = _svhn._known(4)
    _svhn._write_svhn(folder, "test", X, y)
    path = folder / "svhn" / "test_32x32.mat"
    if compress:
        scipy.io.savemat(path, {"X": X, "y": y}, do_compression=True)
    return path.read_bytes()


@functools.cache
def _mat_file(dataset: str, compress: bool) -> tuple[bytes, tuple[Field, ...]]:
    """The valid file and its length fields; the header's time of writing fixed, for CI."""
    with tempfile.TemporaryDirectory() as folder:
        raw = {"nist36": _nist_file, "svhn": _svhn_file}[dataset](Path(folder), compress)
    raw = b"MATLAB 5.0 MAT-file, Platform: posix".ljust(116) + raw[116:]
    return raw, _mat_fields(raw)


def _compressed_mat(raw: bytes) -> bytes:
    """`raw` with each top-level element zlib-compressed (miCOMPRESSED), as savemat does."""
    out, offset = [raw[:128]], 128
    while offset < len(raw):
        size = struct.unpack_from("<I", raw, offset + 4)[0] if offset + 8 <= len(raw) else 0
        element = zlib.compress(raw[offset : offset + 8 + size])
        out.append(struct.pack("<II", 15, len(element)) + element)
        offset += 8 + size
    return b"".join(out)


def _mat_cases(dataset: str, compress: bool):
    """Mutations of the file; a compressed one is mutated inside (before zlib) or in its bytes."""
    raw, fields = _mat_file(dataset, False)
    if not compress:
        return mutated(raw, fields)
    return mutated(raw, fields).map(_compressed_mat) | mutated(*_mat_file(dataset, True))


MAT_NAMES = {"nist36": "nist36_test.mat", "svhn": "test_32x32.mat"}


@FUZZ
@given(dataset=st.sampled_from(sorted(MAT_NAMES)), compress=st.booleans(), data=st.data())
def test_fuzz_mat(work, dataset, compress, data):
    path = work / "mat" / dataset / MAT_NAMES[dataset]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.draw(_mat_cases(dataset, compress)))
    _loads_or_refuses(lambda: load(dataset, "test", root=work / "mat"), MAT_NAMES[dataset])


@pytest.mark.parametrize(
    "offset, value, found",
    [(176, 0x7609, "unknown type 30217"), (180, 2**31 - 1, "claims 2147483647 bytes")],
    ids=["type-tag", "length"],
)
def test_mat_element_tags_are_checked_before_scipy_reads_them(tmp_path, offset, value, found):
    """Found by a longer hunt: an unknown type tag crashed scipy (SIGBUS), a lying length
    allocated 2 GB; both are refused first. Offset 176 is the data element of the one variable."""
    path = tmp_path / "one.mat"
    scipy.io.savemat(path, {"x": np.arange(4.0).reshape(2, 2)})
    raw = bytearray(path.read_bytes())
    assert struct.unpack_from("<I", raw, 176)[0] == 9  # miDOUBLE, where the test expects it
    struct.pack_into("<I", raw, offset, value)
    path.write_bytes(raw)
    with pytest.raises(CorruptFileError, match=f"one.mat: .*{found}"):
        read_mat(path, ["x"])


# ---- FER2013 csv


def _fer_csv() -> bytes:
    """The Kaggle fer2013.csv layout: emotion,pixels,Usage; 2304 values per row; CRLF-free."""
    rng = np.random.default_rng(1)
    lines = ["emotion,pixels,Usage"]
    for i, usage in enumerate(["Training", "Training", "PublicTest", "PrivateTest"]):
        pixels = " ".join(str(v) for v in rng.integers(0, 256, 48 * 48))
        lines.append(f"{i % 7},{pixels},{usage}")
    return ("\n".join(lines) + "\n").encode("ascii")


FER_CSV = _fer_csv()
#: text edits a csv parser meets: quotes, separators, line ends, NULs, signs, long numbers
_TOKENS = st.sampled_from(
    ['"', ",", "\n", "\r", "\0", "-", " ", "99999999999999999999", "1e3", "65536"]
)


@st.composite
def _csv_edits(draw):
    data = draw(mutated(FER_CSV))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + draw(_TOKENS).encode() + data[pos:]
    return data


@FUZZ
@given(usage=st.sampled_from(["Training", "PublicTest", "PrivateTest"]), data=_csv_edits())
def test_fuzz_fer2013_csv(work, usage, data):
    path = work / "fer2013.csv"
    path.write_bytes(data)
    _loads_or_refuses(lambda: read_csv(path, usage), "fer2013.csv")


# ---- CIFAR-10 python batches (Python 2 cPickle, protocol 2)

_cifar = _sibling("test_cifar.py")
CIFAR_FILES = _cifar._release(per_batch=2)[0]


def _pickle_fields(data: bytes) -> tuple[Field, ...]:
    """Every length and integer argument of the pickle: string lengths, shapes, labels."""
    sizes = {"BINSTRING": 4, "SHORT_BINSTRING": 1, "BININT": 4, "BININT1": 1, "BININT2": 2}
    sizes |= {"BINPUT": 1, "LONG_BINPUT": 4, "BINGET": 1, "LONG_BINGET": 4}
    return tuple(
        Field(pos + 1, sizes[op.name])
        for op, _, pos in pickletools.genops(data)
        if op.name in sizes
    )


CIFAR_FIELDS = {name: _pickle_fields(data) for name, data in CIFAR_FILES.items()}


@FUZZ
@given(name=st.sampled_from(["test_batch", "batches.meta"]), data=st.data())
def test_fuzz_cifar_batches(name, data):
    files = dict(CIFAR_FILES)
    files[name] = data.draw(mutated(files[name], CIFAR_FIELDS[name]))
    source = "cifar10/cifar-10-batches-py"
    _loads_or_refuses(lambda: read_batches(files, ("test_batch",), source), source)


# ---- archives: CIFAR-10's tar.gz (and a plain tar), EMNIST's zip


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size, info.mtime = len(data), 1_250_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


TAR_MEMBERS = {"batches.meta": CIFAR_FILES["batches.meta"], "readme.html": b"<p>hi</p>" * 40}
TAR = _tar(TAR_MEMBERS)
with tarfile.open(fileobj=io.BytesIO(TAR)) as _archive:
    TAR_FIELDS = tuple(TarSize(m.offset + 124) for m in _archive)


def _read_archive(path: Path) -> None:
    for _ in iter_members(path):
        pass


@FUZZ
@given(data=_inner_or_outer(TAR, TAR_FIELDS) | mutated(TAR, TAR_FIELDS).map(lambda t: b"T" + t))
def test_fuzz_tar(work, data):
    # b"T" marks a plain tar (sliced off here); the rest are tar.gz
    name, data = ("cifar.tar", data[1:]) if data[:1] == b"T" else ("cifar-10-python.tar.gz", data)
    path = work / name
    path.write_bytes(data)
    _loads_or_refuses(lambda: _read_archive(path), name)


def _zip() -> bytes:
    """Like EMNIST's gzip.zip: deflated members under gzip/, each a gzipped IDX file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in (("labels-idx1", IDX_LABELS), ("images-idx3", IDX_IMAGES)):
            info = zipfile.ZipInfo(
                f"gzip/emnist-letters-test-{name}-ubyte.gz", (2017, 2, 1, 0, 0, 0)
            )
            zf.writestr(info, _gzipped(data), zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _zip_fields(raw: bytes) -> tuple[Field, ...]:
    """Sizes, CRCs, name lengths and offsets of the local headers, central directory and end."""
    fields = []
    for sig, offsets in (
        (b"PK\x03\x04", ((14, 4), (18, 4), (22, 4), (26, 2), (28, 2))),
        (b"PK\x01\x02", ((16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (42, 4))),
        (b"PK\x05\x06", ((8, 2), (10, 2), (12, 4), (16, 4), (20, 2))),
    ):
        start = raw.find(sig)
        while start >= 0:
            fields += [Field(start + o, n) for o, n in offsets]
            start = raw.find(sig, start + 1)
    return tuple(fields)


ZIP = _zip()
ZIP_MEMBERS = {
    "gzip/emnist-letters-test-labels-idx1-ubyte.gz": "fuzz/labels.gz",
    "gzip/emnist-letters-test-images-idx3-ubyte.gz": "fuzz/images.gz",
}


@FUZZ
@given(data=mutated(ZIP, _zip_fields(ZIP)))
def test_fuzz_zip(work, data):
    archive = work / "gzip.zip"
    archive.write_bytes(data)
    download = Download("https://example.org/emnist/gzip.zip", "fuzz/gzip.zip", ZIP_MEMBERS)
    _loads_or_refuses(
        lambda: fetch_mod._unpack(archive, download, work / "unpacked", "sha256 ok"), "gzip.zip"
    )


def test_unmutated_files_load(work):
    """The fuzz starts from valid files: each loads as it is."""
    _load_mnist(work, IDX_IMAGES, IDX_LABELS, "")
    assert read_idx(work / "mnist" / "t10k-images-idx3-ubyte").shape == (6, 28, 28)
    assert len(read_csv(_write(work / "fer2013.csv", FER_CSV), "Training")[0]) == 2
    assert read_batches(CIFAR_FILES, ("test_batch",), "cifar")[0].shape == (2, 3, 32, 32)
    assert [p.name for p, _ in iter_members(_write(work / "ok.tar", TAR))] == list(TAR_MEMBERS)
    for dataset, name in MAT_NAMES.items():
        for compress in (False, True):
            _write(work / "ok" / dataset / name, _mat_file(dataset, compress)[0])
            assert len(load(dataset, "test", root=work / "ok")) in (4, 5)
        assert _compressed_mat(_mat_file(dataset, False)[0]) == _mat_file(dataset, True)[0]
    download = Download("https://example.org/gzip.zip", "g.zip", ZIP_MEMBERS)
    assert len(fetch_mod._unpack(_write(work / "ok.zip", ZIP), download, work / "z", "ok")) == 2


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
