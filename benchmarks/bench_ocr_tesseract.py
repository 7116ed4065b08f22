"""Our reader against tesseract on the OCR photos: character accuracy and seconds per image.

Ours uses the classifier an `ocr` run trained (its `checkpoints/classifier.pt` and config);
tesseract 5 (Debian's `tesseract-ocr`, English model, `--psm 6`: one block of text) reads the
same photo files. Tesseract's output is upper-cased and cut to A-Z, 0-9 and whitespace before
scoring, the same character set as the truth (a favour to tesseract: its punctuation is not
counted as an error). Scoring for both: `nnlab.ocr.score.character_accuracy` (edit distance,
spaces ignored). Run by hand, never by the tests:

    NNLAB_DATA=/path/to/data python benchmarks/bench_ocr_tesseract.py --run runs/<id>-ocr
"""

import argparse
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import torch

from nnlab.data.loaders.ocr_photos import load_ocr_photos
from nnlab.ocr.classifier import character_cnn
from nnlab.ocr.read import read
from nnlab.ocr.score import character_accuracy


def _our_classifier(run_dir: Path) -> torch.nn.Module:
    """The CNN of an `ocr` run, with the weights of its checkpoint."""
    config = json.loads((run_dir / "config.json").read_text())
    strides = config.get("strides")
    model = character_cnn(36, tuple(config["channels"]), tuple(strides) if strides else None)
    snapshot = torch.load(run_dir / "checkpoints" / "classifier.pt", weights_only=True)
    model.load_state_dict(snapshot["model"])
    return model.eval()


def _tesseract(path: Path) -> str:
    """Tesseract's text for one image file, cut to capitals, digits and whitespace."""
    done = subprocess.run(
        ["tesseract", str(path), "stdout", "--psm", "6", "-l", "eng"],
        capture_output=True,
        text=True,
        check=True,
    )
    return re.sub(r"[^A-Z0-9\s]", "", done.stdout.upper()).strip()


def main() -> None:
    """Print one row per photo: accuracy and seconds for ours and for tesseract."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="an `ocr` run folder")
    args = parser.parse_args()
    model = _our_classifier(args.run)
    have_tesseract = shutil.which("tesseract") is not None
    if not have_tesseract:
        print(
            "tesseract is NOT installed (`apt-get install -y tesseract-ocr`): only our reader "
            "is measured."
        )
    print(f"{'image':<12} {'ours acc':>9} {'ours s':>7} {'tess acc':>9} {'tess s':>7}")
    for photo in load_ocr_photos():
        start = time.perf_counter()
        ours = read(photo.image, model)
        ours_s = time.perf_counter() - start
        tess_acc = tess_s = float("nan")
        if have_tesseract:
            start = time.perf_counter()
            tess = _tesseract(photo.path)
            tess_s = time.perf_counter() - start
            tess_acc = character_accuracy(tess, photo.text)
        ours_acc = character_accuracy(ours, photo.text)
        print(f"{photo.name:<12} {ours_acc:>9.3f} {ours_s:>7.2f} {tess_acc:>9.3f} {tess_s:>7.2f}")


if __name__ == "__main__":
    main()
