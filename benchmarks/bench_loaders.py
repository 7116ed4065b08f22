"""How long each present dataset takes to load: cold (decode the publisher's files) and warm.

Warm means from nnlab's tensor cache, which only the image-file sets (JPEG/PNG) and derived sets
use; the IDX and .mat sets are parsed every time. The cache goes to a temporary folder, so the
user's own cache is neither used nor touched. Run by `make bench`, never by the tests:

    NNLAB_DATA=/path/to/data python benchmarks/bench_loaders.py [NAME ...]
"""

import argparse
import os
import tempfile
import time

import nnlab.data as data
from nnlab.errors import MissingDataError


def _seconds(name: str, split: str) -> tuple[float, int]:
    start = time.perf_counter()
    n = len(data.load(name, split))
    return time.perf_counter() - start, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="datasets (default: every present one)")
    args = parser.parse_args()
    names = args.names or [n for n in data.names() if data.info(n).present()]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NNLAB_CACHE"] = cache
        print(f"data root {data.data_root()}, CPU threads {os.cpu_count()}")
        print(f"{'dataset/split':<28} {'images':>8} {'cold s':>8} {'warm s':>8}")
        for name in names:
            for split in data.info(name).splits:
                try:
                    cold, n = _seconds(name, split)
                except MissingDataError:  # e.g. nist26 with only its valid file
                    print(f"{name + '/' + split:<28} {'missing':>8}")
                    continue
                warm, _ = _seconds(name, split)
                print(f"{name + '/' + split:<28} {n:>8,} {cold:>8.2f} {warm:>8.2f}")


if __name__ == "__main__":
    main()
