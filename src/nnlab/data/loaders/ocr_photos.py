"""Photos of hand-written text with their ground truth, for the OCR experiment (not an ImageSet).

`<root>/ocr-photos/` holds images (e.g. the four CMU 16-720 HW5 photos `01_list.jpg` ...) and,
beside each, an optional `.txt` of the same stem with the text written in it, one line per
written line. Photos are turned upright by their EXIF orientation tag, as a viewer shows them
(`formats.image.decode` does that for every image nnlab reads).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlab.data.catalog import data_root
from nnlab.data.formats.files import read_file
from nnlab.data.formats.image import decode
from nnlab.data.loaders.folder import is_image
from nnlab.errors import MissingDataError

FOLDER = "ocr-photos"


@dataclass(frozen=True)
class OcrPhoto:
    """One photo of written text.

    Parameters
    ----------
    name : str
        The file's stem, e.g. "01_list".
    path : Path
        The image file.
    image : np.ndarray
        uint8 RGB pixels (H, W, 3), upright (EXIF orientation applied).
    text : str or None
        The ground truth from `<stem>.txt`: its lines joined by "\\n", trailing blanks removed;
        None when there is no such file.
    """

    name: str
    path: Path
    image: np.ndarray
    text: str | None


def load_ocr_photos(root: str | Path | None = None) -> list[OcrPhoto]:
    """Every photo in `<root>/ocr-photos/`, sorted by file name.

    Parameters
    ----------
    root : path, optional
        The data root; default `$NNLAB_DATA` or ~/.cache/nnlab/data.

    Returns
    -------
    list of OcrPhoto
    """
    folder = data_root(root) / FOLDER
    photos = ocr_photo_files(root)
    if not photos:
        raise MissingDataError(
            f"no photos (.jpg, .png, ...) in {folder}. Put photos of written text there, each "
            f"with a same-named .txt of its text, or point NNLAB_DATA at a folder holding "
            f"{FOLDER}/."
        )
    return [
        OcrPhoto(p.stem, p, decode(read_file(p), str(p), channels=3), _ground_truth(p))
        for p in photos
    ]


def ocr_photo_files(root: str | Path | None = None) -> list[Path]:
    """The image files in `<root>/ocr-photos/`, sorted; empty when there are none."""
    folder = data_root(root) / FOLDER
    return sorted(p for p in folder.iterdir() if is_image(p.name)) if folder.is_dir() else []


def _ground_truth(photo: Path) -> str | None:
    """The same-stem .txt's lines joined by newlines (trailing spaces and blank lines dropped)."""
    txt = photo.with_suffix(".txt")
    if not txt.exists():
        return None
    lines = [line.rstrip() for line in txt.read_text(encoding="utf-8").splitlines()]
    return "\n".join(lines).strip("\n")
