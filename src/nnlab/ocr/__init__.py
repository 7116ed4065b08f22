"""Reading text from an image: find the characters, put them in reading order, classify them.

`find_letters(image)` gives one box per character (`segment`), `group_lines(boxes)` puts them
into lines and words, `read(image, classifier)` returns the text, one line per line of writing,
and `character_accuracy(read, truth)` scores it. The classifier is any callable mapping float
images [N, 1, 32, 32] (dark ink 0 on white 1, NIST36's look) to 36 class scores (A-Z, 0-9).
"""

from nnlab.ocr.classifier import Augment, character_cnn
from nnlab.ocr.lines import group_lines, line_texts, reading_order
from nnlab.ocr.read import Reading, character_images, read, read_page, standardise
from nnlab.ocr.score import character_accuracy, edit_distance
from nnlab.ocr.segment import Box, Segmentation, find_letters, segment, to_grey

__all__ = [
    "Augment",
    "Box",
    "Reading",
    "Segmentation",
    "character_accuracy",
    "character_cnn",
    "character_images",
    "edit_distance",
    "find_letters",
    "group_lines",
    "line_texts",
    "read",
    "read_page",
    "reading_order",
    "segment",
    "standardise",
    "to_grey",
]
