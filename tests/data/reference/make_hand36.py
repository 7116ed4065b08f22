"""Write hand36's reference images and per-class style table, read by tests/data/test_hand36.py.

hand36's pixels are computed in floating point (resampling, blur, thresholds), so another CPU may
give other last bits; the tests compare with these references within tolerances instead of a
hash. Run it only when hand36's normalisation changes on purpose, and commit what it writes:

    NNLAB_DATA=../shared/data .venv/bin/python tests/data/reference/make_hand36.py
"""

import json
import sys
from pathlib import Path

from PIL import Image

from nnlab.data import load

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from test_hand36 import PER_CLASS_STATS_SPLITS, reference_indices, split_style  # noqa: E402


def main() -> None:
    table = {}
    for split in ("train", "valid", "test"):
        s = load("hand36", split)
        picks = reference_indices(split)
        strip = s.x[picks, 0].numpy().reshape(-1, 32)  # [len(picks) * 32, 32]
        Image.fromarray(strip).save(HERE / f"hand36-{split}.png", optimize=True)
        if split in PER_CLASS_STATS_SPLITS:
            table[split] = split_style(s)
    text = json.dumps(table, indent=1, sort_keys=True)
    (HERE / "hand36-style.json").write_text(text + "\n")
    print(f"wrote {HERE}/hand36-*.png and hand36-style.json")


if __name__ == "__main__":
    main()
