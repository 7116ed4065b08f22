"""`fetch(name)`: download a dataset's files from their publisher, checked, into the data root.

This is the only code that writes into the data root. Each file is streamed to a temporary
`.part` file beside its final name, checked against the publisher's checksum while it streams,
and renamed into place only when it matches, so a file under its final name is always complete.
Archives that bundle more than the dataset (EMNIST's zip of every variant, CIFAR-10's tar.gz)
are unpacked member by member, the same way, and then deleted. Library code reports through the
returned results and an optional progress callback; it prints nothing.
"""

import hashlib
import http.client
import os
import secrets
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from nnlab import __version__
from nnlab.data import checksums
from nnlab.data.catalog import data_root, info
from nnlab.data.formats.archive import check_member_name
from nnlab.errors import CorruptFileError, MissingDataError

#: progress(label, bytes_done, bytes_total or None), called after every chunk of a download
Progress = Callable[[str, int, int | None], None]

CHUNK = 1 << 16
TIMEOUT_S = 30  # per socket operation, not for the whole download


@dataclass(frozen=True)
class Download:
    """One file a publisher distributes.

    Parameters
    ----------
    url : str
        Where to get it.
    path : str
        Where it goes, relative to the data root (for an archive: where it is kept while it is
        unpacked).
    members : dict, optional
        For an archive to unpack: member name in the archive -> path relative to the data root.
        Only these members are written (the destination never comes from the archive), and the
        archive is deleted afterwards.
    split : str, optional
        The split this file holds; it is fetched only when the dataset registers that split.
    """

    url: str
    path: str
    members: dict[str, str] = field(default_factory=dict)
    split: str | None = None


@dataclass(frozen=True)
class Fetched:
    """What `fetch` did with one file.

    Parameters
    ----------
    path : Path
        The file under the data root.
    action : str
        "downloaded", "unpacked" (from a downloaded archive) or "kept" (already there).
    check : str
        How it was checked, e.g. "md5 ok", or "no published checksum (sha256 …)".
    """

    path: Path
    action: str
    check: str


def _files(url: str, folder: str, names: list[str]) -> tuple[Download, ...]:
    return tuple(Download(url + n, f"{folder}/{n}") for n in names)


_IDX_NAMES = [
    f"{stem}-{kind}-ubyte.gz"
    for stem in ("train", "t10k")
    for kind in ("images-idx3", "labels-idx1")
]
_EMNIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
_EMNIST_VARIANTS = ("letters", "digits", "mnist", "balanced", "bymerge", "byclass")
_CIFAR_MEMBERS = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def _emnist(variant: str) -> Download:
    """The EMNIST zip (all variants, ~560 MB), of which only `variant`'s files are unpacked."""
    names = [
        f"emnist-{variant}-{split}-{kind}-ubyte.gz"
        for split in ("train", "test")
        for kind in ("images-idx3", "labels-idx1")
    ] + [f"emnist-{variant}-mapping.txt"]
    return Download(_EMNIST_URL, "emnist/gzip.zip", {f"gzip/{n}": f"emnist/{n}" for n in names})


#: dataset name -> the publisher's files
SOURCES: dict[str, tuple[Download, ...]] = {
    # torchvision's mirror of LeCun's files (the originals' checksums are pinned)
    "mnist": _files("https://ossci-datasets.s3.amazonaws.com/mnist/", "mnist", _IDX_NAMES),
    "fashion-mnist": _files(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "fashion-mnist", _IDX_NAMES
    ),
    "cifar10": (
        Download(
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "cifar10/cifar-10-python.tar.gz",
            {
                f"cifar-10-batches-py/{n}": f"cifar10/cifar-10-batches-py/{n}"
                for n in _CIFAR_MEMBERS
            },
        ),
    ),
    "svhn": tuple(
        Download(
            f"http://ufldl.stanford.edu/housenumbers/{s}_32x32.mat", f"svhn/{s}_32x32.mat", split=s
        )
        for s in ("train", "test", "extra")
    ),
    "flowers17": _files(
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/", "flowers17", ["17flowers.tgz"]
    ),
    "notmnist": _files(
        "http://yaroslavvb.com/upload/notMNIST/", "notmnist", ["notMNIST_small.tar.gz"]
    ),
    **{f"emnist-{v}": (_emnist(v),) for v in _EMNIST_VARIANTS},
}

#: datasets with no public download: where a user gets them by hand
MANUAL: dict[str, str] = {
    "nist36": "the CMU 16-720 (Computer Vision) HW5 data, handed out to the course's students "
    "(nist36_train.mat, nist36_valid.mat, nist36_test.mat)",
    "nist26": "the older CMU 16-720 HW5 data, handed out to the course's students "
    "(nist26_*.mat, e.g. nist26_valid.mat)",
    "fer2013": "Kaggle, which needs a login: https://www.kaggle.com/datasets/msambare/fer2013 "
    "(train/ and test/ image folders) or the challenge's fer2013.csv",
}


def fetch(
    name: str,
    root: str | os.PathLike | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> list[Fetched]:
    """Download a dataset's files from the publisher into the data root, checked.

    Parameters
    ----------
    name : str
        A registered dataset name.
    root : path, optional
        Data root; default `$NNLAB_DATA` or ~/.cache/nnlab/data.
    force : bool
        Download again even when the files are there and verify.
    progress : callable, optional
        `progress(label, bytes_done, bytes_total)`, called as a download streams.

    Returns
    -------
    list of Fetched
        One per file; empty for an embedded set, which needs no download.
    """
    spec = info(name)
    root = data_root(root)
    if spec.derived_from:  # fetching a derived set fetches the sets it is made from
        return [f for part in spec.derived_from for f in fetch(part, root, force, progress)]
    if spec.embedded:
        return []
    if name not in SOURCES:
        where = MANUAL.get(name) or spec.source or "its publisher"
        raise MissingDataError(
            f"{name} has no public download nnlab can fetch. Get its files by hand from {where}, "
            f"and put them in {root / (spec.folder or name)}/."
        )
    results = []
    for download in SOURCES[name]:
        if download.split is None or download.split in spec.splits:
            results += _fetch_one(download, root, force, progress)
    return results


def _fetch_one(
    download: Download, root: Path, force: bool, progress: Progress | None
) -> list[Fetched]:
    targets = list(download.members.values()) or [download.path]
    kept = {t: _existing(root / t, t) for t in targets}
    if not force and all(kept.values()):
        return [Fetched(root / t, "kept", check) for t, check in kept.items()]
    folder = (root / download.path).parent
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        part, check = download_part(download, root, progress)
    except BaseException:
        for p in made:  # a failed download leaves no trace, not even empty folders
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        raise
    if not download.members:
        os.replace(part, root / download.path)
        return [Fetched(root / download.path, "downloaded", check)]
    try:
        return _unpack(part, download, root, check)
    finally:
        part.unlink(missing_ok=True)


def _existing(file: Path, rel: str) -> str | None:
    """How an existing file checks out, or None when it is absent or contradicts its pins."""
    if not file.is_file():
        return None
    pins = checksums.pins_for(rel)
    if not pins:
        return "no pinned checksum"
    digests = checksums.file_digests(file, {p.algorithm for p in pins})
    status = checksums.status_of(digests, pins)
    if status == "MISMATCH":
        return None
    if status == "unverified":
        return "not the shared-data variant; no publisher checksum to check"
    matched = next(p for p in pins if digests[p.algorithm] == p.digest)
    return f"{matched.algorithm} ok"


# ---- download


def _part_name(dest: Path) -> Path:
    """A fresh temporary name beside `dest`; unique, so two fetches never share one."""
    # not tempfile.mkstemp: its 0600 mode would stick to the renamed file; open("xb") uses umask
    return dest.with_name(f"{dest.name}.{secrets.token_hex(4)}.part")


def download_part(
    download: Download, root: Path, progress: Progress | None = None
) -> tuple[Path, str]:
    """Stream a download to a `.part` file beside `root / download.path` and check it.

    A failed or interrupted download leaves no `.part` behind. Returns the `.part` path (the
    caller renames or unpacks it) and the check text (the published checksums it matched).
    """
    dest = root / download.path
    expected = checksums.published(download.path)
    hashers = {a: hashlib.new(a) for a in {c.algorithm for c in expected} | {"sha256"}}
    part = _part_name(dest)
    try:
        with open(part, "xb") as out:
            for chunk in _chunks(download.url, dest.parent, progress):
                out.write(chunk)
                for h in hashers.values():
                    h.update(chunk)
            out.flush()
            os.fsync(out.fileno())  # the rename must never expose a file still in the page cache
        digests = {a: h.hexdigest() for a, h in hashers.items()}
        return part, _check(download.url, digests, expected)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _chunks(url: str, folder: Path, progress: Progress | None) -> Iterator[bytes]:
    """The body of `url` in chunks; network failures become one-line `MissingDataError`s."""
    request = urllib.request.Request(url, headers={"User-Agent": f"nnlab/{__version__}"})
    label = url.rsplit("/", 1)[-1]
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
        raise _unreachable(url, folder, exc) from None
    with response:
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _unreachable(url, folder, exc) from None
            if not chunk:
                break
            done += len(chunk)
            if progress is not None:
                progress(label, done, total)
            yield chunk
    if total is not None and done != total:
        raise MissingDataError(
            f"{url}: the download stopped after {done:,} of {total:,} bytes; run the fetch again, "
            f"or copy the file by hand into {folder}/."
        )


def _unreachable(url: str, folder: Path, exc: Exception) -> MissingDataError:
    if isinstance(exc, urllib.error.HTTPError):
        return MissingDataError(
            f"{url}: the server answered HTTP {exc.code} {exc.reason}; the file may have moved. "
            f"Download it by hand into {folder}/."
        )
    reason = getattr(exc, "reason", None) or exc
    return MissingDataError(
        f"cannot reach {urlsplit(url).hostname} (offline?): {reason}; "
        f"copy the files by hand into {folder}/."
    )


def _check(what: str, digests: dict[str, str], expected: tuple[checksums.Checksum, ...]) -> str:
    """The check text for a new file, or `CorruptFileError` when it matches no published digest."""
    if not expected:
        return f"no published checksum (sha256 {digests['sha256']})"
    for c in expected:
        if digests[c.algorithm] == c.digest:
            return f"{c.algorithm} ok"
    want = "; ".join(f"{c.algorithm} {c.digest}" for c in expected)
    got = "; ".join(f"{c.algorithm} {digests[c.algorithm]}" for c in expected)
    raise CorruptFileError(
        f"{what}: does not match the published checksum (expected {want}, got {got}); "
        f"it was not kept. Run the fetch again; if it keeps failing, the publisher changed it."
    )


# ---- archives


#: what reading a damaged zip or tar raises: a bad gzip stream and a seek before the file's start
#: (an offset that lies) are OSErrors, an unknown compression method NotImplementedError
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    zlib.error,
    OSError,
    NotImplementedError,
)


class _DamagedArchive(Exception):
    """A read error of the archive, kept apart from errors writing the destination (a full disk)."""


def _reading(call):
    """`call()`, which reads the archive: its read errors become `_DamagedArchive`."""
    try:
        return call()
    except _ARCHIVE_ERRORS as exc:
        raise _DamagedArchive(exc) from None


class _Member:
    """A member's stream, opened by `opener`, whose every read error is a `_DamagedArchive`."""

    def __init__(self, opener: Callable[[], IO[bytes]]):
        self._f = _reading(opener)

    def read(self, n: int = -1) -> bytes:
        return _reading(lambda: self._f.read(n))

    def __enter__(self) -> "_Member":
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


def _unpack(archive: Path, download: Download, root: Path, check: str) -> list[Fetched]:
    """Write the wanted members of a checked archive (zip or tar) to their destinations."""
    source = f"{download.url.rsplit('/', 1)[-1]} ({check})"
    wanted = download.members
    results = []
    try:
        if zipfile.is_zipfile(archive):
            with _reading(partial(zipfile.ZipFile, archive)) as zf:
                names = zf.namelist()
                for name in names:
                    check_member_name(archive, name)
                _require(download, set(wanted) - set(names))
                results = [
                    _write(_Member(partial(zf.open, m)), root, wanted[m], source) for m in wanted
                ]
        else:
            with tarfile.open(archive, "r:*") as tar:
                found = set()
                members = iter(tar)  # one pass: a .tar.gz cannot seek back cheaply
                while (member := _reading(partial(next, members, None))) is not None:
                    check_member_name(archive, member.name)
                    if member.name in wanted and member.isfile():
                        src = _Member(partial(tar.extractfile, member))
                        results.append(_write(src, root, wanted[member.name], source))
                        found.add(member.name)
                _require(download, set(wanted) - found)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, _DamagedArchive) as exc:
        raise CorruptFileError(
            f"{download.url}: cannot unpack the downloaded archive ({exc}); run the fetch again."
        ) from None
    return results


def _require(download: Download, missing: set[str]) -> None:
    if missing:
        raise CorruptFileError(
            f"{download.url}: the archive lacks {', '.join(sorted(missing))}; the publisher "
            f"changed its layout. Get the files by hand into the data root."
        )


def _write(src: IO[bytes], root: Path, rel: str, source: str) -> Fetched:
    """Copy one member to `root/rel` through a `.part` file, checked against published digests."""
    dest = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_name(dest)
    try:
        with src, open(part, "xb") as out:
            shutil.copyfileobj(src, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        expected = checksums.published(rel)
        if expected:
            digests = checksums.file_digests(part, {c.algorithm for c in expected})
            check = _check(f"{source}: {rel}", digests, expected)
        else:
            check = f"from {source}"
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Fetched(dest, "unpacked", check)
