"""Pinned checksums of the dataset files, and `verify()` to check the files under the data root.

Every digest is pinned with where it comes from, because that decides what a difference means:

- "original": the publisher's own file (or, for a redistribution, its distributor's file as
  published). A file that differs is corrupt or not the file it claims to be: MISMATCH.
- "repack": a file made for the team's shared data under a name of its own (MANIFEST.md says how);
  nobody else publishes a file of that name, so a difference is a MISMATCH too.
- "variant": made for the shared data under the publisher's own file name, but with other bytes
  (re-gzipped, repacked). The publisher's genuine file differs from it and has no published
  digest here, so a file that differs is "unverified", not a mismatch.

Values for the files in ../shared/data are MANIFEST.md's sha256; the others are the md5 values
the publishers give and torchvision checks.
"""

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from nnlab.data.catalog import data_root
from nnlab.errors import UnknownNameError

CHUNK = 1 << 20  # hash 1 MiB at a time: files are up to ~60 MB here (1.3 GB for SVHN extra)
ORIGINS = ("original", "repack", "variant")


@dataclass(frozen=True)
class Checksum:
    """One pinned digest of one file.

    Parameters
    ----------
    path : str
        POSIX path relative to the data root, e.g. "mnist/t10k-labels-idx1-ubyte.gz".
    algorithm : str
        "sha256" or "md5" (any name `hashlib.new` accepts).
    digest : str
        Lower-case hex digest.
    origin : str
        "original", "repack" or "variant" (see the module docstring).
    """

    path: str
    algorithm: str
    digest: str
    origin: str = "original"

    def __post_init__(self):
        assert self.origin in ORIGINS, self.origin
        assert len(self.digest) == hashlib.new(self.algorithm).digest_size * 2, self


def _pins(origin: str, algorithm: str, pairs: dict[str, str]) -> tuple[Checksum, ...]:
    return tuple(Checksum(path, algorithm, digest, origin) for path, digest in pairs.items())


#: dataset name -> its pinned files. A path may carry several pins (e.g. the publisher's md5 and
#: the sha256 of a variant); a file that matches any of them verifies.
PINNED: dict[str, tuple[Checksum, ...]] = {
    # Originals: the MANIFEST's md5 of each equals the official one (train-images was rebuilt
    # byte for byte, note M1).
    "mnist": _pins(
        "original",
        "sha256",
        {
            "mnist/train-images-idx3-ubyte.gz": (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
            ),
            "mnist/train-labels-idx1-ubyte.gz": (
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
            ),
            "mnist/t10k-images-idx3-ubyte.gz": (
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
            ),
            "mnist/t10k-labels-idx1-ubyte.gz": (
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
            ),
        },
    ),
    # Originals (zalando's md5 checked; the image files were rebuilt byte for byte, note F1).
    "fashion-mnist": _pins(
        "original",
        "sha256",
        {
            "fashion-mnist/train-images-idx3-ubyte.gz": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
            ),
            "fashion-mnist/train-labels-idx1-ubyte.gz": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
            ),
            "fashion-mnist/t10k-images-idx3-ubyte.gz": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
            ),
            "fashion-mnist/t10k-labels-idx1-ubyte.gz": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
            ),
        },
    ),
    # The MNIST-format redistribution (davidflanagan/notMNIST-to-MNIST) as its distributor
    # published it; Bulatov's notMNIST_small.tar.gz has no published digest.
    "notmnist": _pins(
        "original",
        "sha256",
        {
            "notmnist/t10k-images-idx3-ubyte.gz": (
                "70ae9e06201f2827e5b0a3781a3169d735dd2efc69996b9eeaee7f10ed4044d7"
            ),
            "notmnist/t10k-labels-idx1-ubyte.gz": (
                "1fa03836e01c862542f8eb83463bb951bebec6fcb3efa28dad748c6b38a9021b"
            ),
        },
    ),
    # Labels and mapping are NIST's files as distributed; the image files were rebuilt from
    # lossless PNGs and re-gzipped, so NIST's own .gz of the same name differs (variant).
    "emnist-letters": _pins(
        "original",
        "sha256",
        {
            "emnist/emnist-letters-train-labels-idx1-ubyte.gz": (
                "9759af91ea6bccdf07a6040fd085861f2ec88e37f7c3f5760f6feb57106fbe5c"
            ),
            "emnist/emnist-letters-test-labels-idx1-ubyte.gz": (
                "924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb"
            ),
            "emnist/emnist-letters-mapping.txt": (
                "599a90f3abd7b467e93aae0beb3adebc4360c2f46363efb076b9366c9b5eac35"
            ),
        },
    )
    + _pins(
        "variant",
        "sha256",
        {
            "emnist/emnist-letters-train-images-idx3-ubyte.gz": (
                "572a49543a25eb57a790314a668b830f07b21b96953796831164872622d3e544"
            ),
            "emnist/emnist-letters-test-images-idx3-ubyte.gz": (
                "1c7292eb8ce99660f9e03eb54e9ce22d75de1b8c42a22e14b3ceee8365bd4caf"
            ),
        },
    ),
    # The CMU 16-720 course file as distributed.
    "nist26": _pins(
        "original",
        "sha256",
        {
            "nist26/nist26_valid.mat": (
                "e2ce8ff1178eb6636c2901093ef37b22df7214530bffe07ec4358e6c0b81f3c6"
            ),
        },
    ),
    # Packed for the shared data from the Kaggle image folders (note E1): repacks.
    "fer2013": _pins(
        "repack",
        "sha256",
        {
            "fer2013/fer2013_train.tar.gz": (
                "ab80ea8e9ff6539c8c0dd63fbcc3e1bce4dca632d56b3bd9ba945ece8ca41c99"
            ),
            "fer2013/fer2013_test.tar.gz": (
                "50039b2fe17b8fbca46e87c32e8f25d9e2df23151bb22341444003d43f3a3cea"
            ),
        },
    ),
    # Oxford's 17flowers.tgz (md5 as checked by several loaders), and the shared data's repack
    # of the same images under the same name (note W1).
    "flowers17": _pins(
        "original", "md5", {"flowers17/17flowers.tgz": "b59a65d8d1a99cd66944d474e1289eab"}
    )
    + _pins(
        "variant",
        "sha256",
        {
            "flowers17/17flowers.tgz": (
                "88acf3eda09cf7e478e0fa4077052069ebc94a639e7f24ce6de1f431a1449bc4"
            ),
        },
    ),
    # The python batches as unpacked from cifar-10-python.tar.gz (publisher's md5s, as
    # torchvision checks them), and the JPEG image-folder release packed for the shared data
    # (notes C1, C2: repacks).
    "cifar10": _pins(
        "original",
        "md5",
        {
            "cifar10/cifar-10-batches-py/data_batch_1": "c99cafc152244af753f735de768cd75f",
            "cifar10/cifar-10-batches-py/data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "cifar10/cifar-10-batches-py/data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "cifar10/cifar-10-batches-py/data_batch_4": "634d18415352ddfa80567beed471001a",
            "cifar10/cifar-10-batches-py/data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "cifar10/cifar-10-batches-py/test_batch": "40351d587109b95175f43aff81a1287e",
            "cifar10/cifar-10-batches-py/batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        },
    )
    + _pins(
        "repack",
        "sha256",
        {
            "cifar10/cifar10-train-images.tar.gz": (
                "51f7d38772e83482bb7c590332aa12ff1c2a65bea3119742a66d890d29448cc1"
            ),
            "cifar10/cifar10-test-images.tar.gz": (
                "a07be68003af2e92494f63b544f789c68211128c501d2e2b1e205736a9d221d2"
            ),
        },
    ),
    # Stanford's files (md5 as torchvision checks them).
    "svhn": _pins(
        "original",
        "md5",
        {
            "svhn/train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
            "svhn/test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",
            "svhn/extra_32x32.mat": "a93ce644f1a588dc4d68dda5feec44a7",
        },
    ),
    # The four CMU 16-720 HW5 photos as distributed (EXIF included).
    "ocr-photos": _pins(
        "original",
        "sha256",
        {
            "ocr-photos/01_list.jpg": (
                "30937d02f89b6aab490b231340901b61309b090a88269e2e6617cad6da9230b4"
            ),
            "ocr-photos/02_letters.jpg": (
                "1187b79093ad73ff6fb2e14a800923b496e84b406433ee545bab716862bec6f6"
            ),
            "ocr-photos/03_haiku.jpg": (
                "524a81dbbf5a63697037a79a258ab51b85b518945d9f684fa1244a40921430dc"
            ),
            "ocr-photos/04_deep.jpg": (
                "7f7b13dafeb706dbc0f3132f27db5c1afb94bfc5ee0ef3aa485b15a26b51ecab"
            ),
        },
    ),
}

#: Publisher archives that `fetch` unpacks and then deletes, so they are not checked by `verify`.
ARCHIVES: tuple[Checksum, ...] = (
    Checksum("cifar10/cifar-10-python.tar.gz", "md5", "c58f30108f718f92721af3b95e74349a"),
    Checksum("emnist/gzip.zip", "md5", "58c8d27c78d21e728a6bc7b3cc06412e"),
)


@dataclass(frozen=True)
class Verified:
    """The outcome of checking one pinned file.

    Parameters
    ----------
    dataset : str
        The dataset the file belongs to.
    path : str
        Relative to the data root.
    status : str
        "ok", "MISMATCH", "unverified" (differs from a variant's digest only) or "absent".
    algorithm : str
        Algorithm of `digest`: the matching pin's, else the first pin's.
    digest : str or None
        The file's digest; None when absent.
    expected : tuple of Checksum
        The pins the file was checked against.
    """

    dataset: str
    path: str
    status: str
    algorithm: str
    digest: str | None
    expected: tuple[Checksum, ...]


def file_digests(path: Path, algorithms: set[str] | frozenset[str]) -> dict[str, str]:
    """Hex digests of a file for each algorithm, read once in 1 MiB chunks."""
    hashers = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


def status_of(digests: dict[str, str], pins: tuple[Checksum, ...]) -> str:
    """The status of a file with these digests against its pins: ok, MISMATCH or unverified.

    Parameters
    ----------
    digests : dict
        Algorithm -> hex digest of the file, covering every pin's algorithm.
    pins : tuple of Checksum
        The file's pins (at least one).
    """
    assert pins
    if any(digests[p.algorithm] == p.digest for p in pins):
        return "ok"
    return "unverified" if all(p.origin == "variant" for p in pins) else "MISMATCH"


def published(path: str) -> tuple[Checksum, ...]:
    """The publisher's own digests of a file ("original" pins and archives), by relative path."""
    pins = [c for group in PINNED.values() for c in group if c.origin == "original"]
    return tuple(c for c in (*pins, *ARCHIVES) if c.path == path)


def pins_for(path: str) -> tuple[Checksum, ...]:
    """Every pin of a file in `PINNED`, whatever its origin, by relative path."""
    return tuple(c for group in PINNED.values() for c in group if c.path == path)


def verify(names: list[str] | None = None, root: Path | None = None) -> list[Verified]:
    """Check the pinned files of some datasets under the data root.

    Parameters
    ----------
    names : list of str, optional
        Dataset names (keys of `PINNED`); default all of them.
    root : Path, optional
        Data root; default `$NNLAB_DATA` or ~/.cache/nnlab/data.

    Returns
    -------
    list of Verified
        One per pinned file, in `PINNED` order.
    """
    root = data_root(root)
    for name in names or ():
        if name not in PINNED:
            near = difflib.get_close_matches(name, list(PINNED), n=3)
            hint = f" Did you mean: {', '.join(near)}?" if near else ""
            raise UnknownNameError(
                f"No pinned checksums for dataset {name!r}.{hint} "
                f"Datasets with pinned checksums: {', '.join(PINNED)}."
            )
    results = []
    for name in names or list(PINNED):
        paths = dict.fromkeys(c.path for c in PINNED[name])  # ordered, unique
        for path in paths:
            pins = tuple(c for c in PINNED[name] if c.path == path)
            algorithm = pins[0].algorithm
            file = root / path
            if not file.is_file():
                results.append(Verified(name, path, "absent", algorithm, None, pins))
                continue
            digests = file_digests(file, {p.algorithm for p in pins})
            status = status_of(digests, pins)
            # report the digest that matched, so an ok row shows the pin it agrees with
            algorithm = next(
                (p.algorithm for p in pins if digests[p.algorithm] == p.digest), algorithm
            )
            results.append(Verified(name, path, status, algorithm, digests[algorithm], pins))
    return results
