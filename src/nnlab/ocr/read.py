"""Read a page: segment it, turn each character into a 32x32 image in NIST36's look, classify.

A classifier only knows its training images, so each crop is made to look like them: NIST36's
(and hand36's, which imitates it) dark ink on white, the character's ink box 26 px on its longer
side centred in 32x32, strokes 3.2 px wide with a grey edge. A photo's character is 50-250 px
tall with strokes 4-8 px, i.e. relatively far thinner, so each crop is

1. cut out as its own thresholded ink only (a neighbour's stroke reaching into the box is left
   out), padded to a square with a margin;
2. thickened, at full resolution, by a Euclidean distance transform so that its stroke width is
   NIST36's fraction of its size (stroke 3.2 px to box 26 px); shrinking first would lose thin
   strokes to aliasing;
3. shrunk to 32x32 with antialiasing and put through hand36's own normalisation
   (`nnlab.data.loaders.hand36.normalise`: box fit, blur, stroke width set by a soft threshold),
   the very function that made hand36's images from EMNIST and MNIST.

`standardise` applies step 3 to any set of character images, so a classifier can be trained on
images made exactly as the crops are (the glyph sets, or any other); for hand36 it changes little.

Each character is classified on its own; then, optionally, each word of two or more characters
is read as all letters or all digits, whichever kind holds more of its probability, since a
handwritten O and 0, I and 1, S and 5, Z and 2 or B and 8 often cannot be told apart alone but
words rarely mix the two kinds ("T0" is "TO", "2O" is "20"). This is a prior about text, not
about any one page; `Reading` keeps the text read without it too.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from skimage import measure

from nnlab.data.loaders import hand36
from nnlab.data.loaders.nist import NIST36_CLASSES
from nnlab.errors import ConfigError
from nnlab.ocr.lines import Lines, group_lines, line_texts, reading_order
from nnlab.ocr.segment import MAX_SIDE, Box, Segmentation, segment

#: images [N, 1, 32, 32] float in [0, 1] (dark ink 0 on white paper 1) -> class scores [N, K]
Classifier = Callable[[torch.Tensor], torch.Tensor | np.ndarray]
#: stroke width over ink-box size in NIST36's look
_STROKE_RATIO = hand36.STROKE / hand36.BOX


@dataclass(frozen=True)
class Reading:
    """What `read_page` made of a page.

    Parameters
    ----------
    text : str
        The lines read, joined by newlines; words separated by one space.
    raw_text : str
        The same, each character by its own highest score (no letters-or-digits rule).
    lines : Lines
        The boxes (input image coordinates) as lines of words, in reading order.
    chars : list of str
        The class read for each box, in reading order.
    images : torch.Tensor
        uint8 [N, 1, 32, 32], what the classifier saw for each box, in reading order (dark ink on
        white).
    """

    text: str
    raw_text: str
    lines: Lines
    chars: list[str]
    images: torch.Tensor

    @property
    def boxes(self) -> list[Box]:
        """The boxes in reading order."""
        return reading_order(self.lines)


def read(
    image,
    classifier: Classifier,
    *,
    classes: Sequence[str] = NIST36_CLASSES,
    one_kind_per_word: bool = True,
) -> str:
    """The text on a page, one line of writing per line: `read_page(...).text`.

    Parameters
    ----------
    image : np.ndarray or torch.Tensor
        A page (see `nnlab.ocr.segment.to_grey` for the layouts and dtypes accepted).
    classifier : callable
        Images [N, 1, 32, 32] float32 in [0, 1], dark ink on white (NIST36's range) -> class
        scores [N, len(classes)] (torch or NumPy); an `nn.Module` is run in eval mode without
        autograd.
    classes : sequence of str
        The character of each class index; default NIST36's A-Z then 0-9.
    one_kind_per_word : bool
        Read each word of two or more characters as all letters or all digits (see above).

    Returns
    -------
    str
        Empty for a page with no writing.
    """
    return read_page(image, classifier, classes=classes, one_kind_per_word=one_kind_per_word).text


def read_page(
    image,
    classifier: Classifier,
    *,
    classes: Sequence[str] = NIST36_CLASSES,
    one_kind_per_word: bool = True,
    max_side: int = MAX_SIDE,
) -> Reading:
    """Segment a page, classify every character and put the text in reading order.

    Parameters
    ----------
    image, classifier, classes, one_kind_per_word
        As for `read`.
    max_side : int
        A page larger than this (px) is shrunk to it for segmenting (`segment`).

    Returns
    -------
    Reading
    """
    found = segment(image, max_side=max_side)
    lines = group_lines(found.boxes)
    index = {box: i for i, box in enumerate(found.boxes)}
    order = [index[box] for box in reading_order(lines)]
    images = character_images(found, order)
    scores = class_scores(images, classifier, len(classes))
    raw = [classes[i] for i in scores.argmax(1).tolist()]
    chars = _one_kind_per_word(scores, lines, classes) if one_kind_per_word else raw
    return Reading(
        "\n".join(line_texts(lines, chars)),
        "\n".join(line_texts(lines, raw)),
        lines,
        chars,
        images,
    )


def character_images(found: Segmentation, order: Sequence[int] | None = None) -> torch.Tensor:
    """Each character of a segmented page as a 32x32 image in NIST36's look.

    Parameters
    ----------
    found : Segmentation
        From `segment`.
    order : sequence of int, optional
        Indices into `found.boxes` to make images of, in this order; default all, in order.

    Returns
    -------
    torch.Tensor
        uint8 [N, 1, 32, 32], dark ink on white.
    """
    order = range(len(found.boxes)) if order is None else order
    if not len(order):
        return torch.full((0, 1, hand36.SIDE, hand36.SIDE), 255, dtype=torch.uint8)
    ink = torch.stack([_crop(found, i) for i in order])  # [N, 1, 32, 32] float ink
    return hand36.normalise((ink * 255).round().to(torch.uint8))


def standardise(x: torch.Tensor) -> torch.Tensor:
    """Character images [N, 1, H, W] uint8, dark ink on white, in NIST36's look (step 3 above).

    Parameters
    ----------
    x : torch.Tensor
        uint8 [N, 1, H, W], dark ink on light paper (glyphs36, NIST36, hand36).

    Returns
    -------
    torch.Tensor
        uint8 [N, 1, 32, 32], dark on white, ink box 26 px centred, strokes 3.2 px.
    """
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] != 1:
        raise ConfigError(
            f"standardise expects uint8 grey images [N, 1, H, W], got {x.dtype} {tuple(x.shape)}."
        )
    return hand36.normalise(255 - x)  # normalise takes white ink on black


def class_scores(images: torch.Tensor, classifier: Classifier, num_classes: int) -> torch.Tensor:
    """The classifier's scores for character images.

    Parameters
    ----------
    images : torch.Tensor
        uint8 [N, 1, 32, 32], dark ink on white.
    classifier : callable
        See `read`.
    num_classes : int
        How many scores per image the classifier must give.

    Returns
    -------
    torch.Tensor
        float32 [N, num_classes] on the CPU.
    """
    if len(images) == 0:
        return torch.zeros((0, num_classes))
    x = images.to(torch.float32) / 255  # NIST36's range: paper 1, ink 0
    if isinstance(classifier, torch.nn.Module):
        device = next((p.device for p in classifier.parameters()), torch.device("cpu"))
        was_training = classifier.training
        classifier.eval()
        try:
            with torch.inference_mode():
                scores = classifier(x.to(device))
        finally:
            classifier.train(was_training)
    else:
        scores = classifier(x)
    scores = torch.as_tensor(np.asarray(scores.cpu() if torch.is_tensor(scores) else scores))
    if scores.shape != (len(images), num_classes):
        raise ConfigError(
            f"the classifier returned scores of shape {tuple(scores.shape)} for {len(images)} "
            f"images; the reader needs [{len(images)}, {num_classes}], one score per class. "
            f"Pass a classifier trained on the reader's label set, or its `classes`."
        )
    return scores.to(torch.float32)


def classify(
    images: torch.Tensor, classifier: Classifier, classes: Sequence[str] = NIST36_CLASSES
) -> list[str]:
    """The character each image shows, by `classifier`'s highest score.

    Parameters
    ----------
    images : torch.Tensor
        uint8 [N, 1, 32, 32], dark ink on white.
    classifier : callable
        See `read`.
    classes : sequence of str

    Returns
    -------
    list of str
        N characters.
    """
    scores = class_scores(images, classifier, len(classes))
    return [classes[i] for i in scores.argmax(1).tolist()]


def _one_kind_per_word(scores: torch.Tensor, lines: Lines, classes: Sequence[str]) -> list[str]:
    """Characters in reading order, each word of 2+ read as all letters or all digits.

    The kind is the one with more probability (softmax of the scores) summed over the word.
    """
    digit = torch.tensor([c.isdigit() for c in classes])
    probs = scores.softmax(1)
    chars, start = [], 0
    for word in (word for line in lines for word in line):
        part = probs[start : start + len(word)]  # [len(word), K]
        start += len(word)
        if len(word) > 1 and digit.any() and not digit.all():
            use_digits = part[:, digit].sum() > part[:, ~digit].sum()
            part = part.masked_fill(digit != use_digits, -1.0)  # the other kind never wins
        chars.extend(classes[i] for i in part.argmax(1).tolist())
    return chars


def _crop(found: Segmentation, i: int) -> torch.Tensor:
    """Character i's own ink, thickened to NIST36's stroke ratio, as float [1, 32, 32] in [0, 1]."""
    box = found.working_boxes[i]
    mask = found.labels[box.top : box.bottom, box.left : box.right] == i + 1
    longest = max(mask.shape)
    stroke = 2 * float(mask.sum()) / max(float(measure.perimeter(mask)), 1.0)
    # widening every stroke by 2r widens the box by 2r too: solve (w + 2r) / (L + 2r) = ratio
    grow = max(0.0, (_STROKE_RATIO * longest - stroke) / (2 * (1 - _STROKE_RATIO)))
    # a square with the character centred and a margin that leaves it 26 of 32 px
    side = int(np.ceil((longest + 2 * grow) * hand36.SIDE / hand36.BOX)) + 2
    square = np.zeros((side, side), bool)
    top, left = (side - mask.shape[0]) // 2, (side - mask.shape[1]) // 2
    square[top : top + mask.shape[0], left : left + mask.shape[1]] = mask
    if grow >= 0.5:
        square = ndi.distance_transform_edt(~square) <= grow
    ink = torch.from_numpy(square.astype(np.float32))[None, None]  # [1, 1, side, side]
    size = (hand36.SIDE, hand36.SIDE)
    return F.interpolate(ink, size=size, mode="bilinear", antialias=True, align_corners=False)[0]
