"""Reading order: lines by vertical overlap (slant, mixed heights), words by wide gaps."""

import random

from nnlab.ocr.lines import group_lines, line_texts, reading_order
from nnlab.ocr.segment import Box


def _line(text: str, top: float, slope: float, height: int = 40, width: int = 24) -> list:
    """(char, Box) for each non-space character, 10 px apart, word gaps 60 px; the line slopes."""
    out, x = [], 0
    for char in text:
        if char == " ":
            x += 60
            continue
        small = char in "1."  # a shorter character sits on the baseline
        y = round(top + slope * x)
        h = height // 2 if small else height
        out.append((char, Box(y + height - h, x, y + height, x + width)))
        x += width + 10
    return out


def test_slanted_lines_of_mixed_heights_come_out_in_reading_order():
    # each line drops 12 px over its width (slope 0.04 over ~300 px): more than a quarter of a
    # character, less than the line pitch of 70 px
    chars = _line("AB1 CD", 0, 0.04) + _line("EF GH1", 70, 0.04) + _line("IJ", 140, -0.04)
    shuffled = chars[:]
    random.Random(0).shuffle(shuffled)
    lines = group_lines([box for _, box in shuffled])
    label = {box: char for char, box in chars}
    order = reading_order(lines)
    assert sorted(order) == sorted(box for _, box in chars)  # every box exactly once
    assert line_texts(lines, [label[b] for b in order]) == ["AB1 CD", "EF GH1", "IJ"]


def test_no_boxes_and_one_box():
    assert group_lines([]) == []
    box = Box(0, 0, 10, 5)
    assert group_lines([box]) == [[[box]]]
