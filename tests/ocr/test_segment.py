"""Finding characters: one box per character on rendered pages; odd inputs must not fail."""

import numpy as np
import pytest
import torch

from nnlab.data.pages import render_page
from nnlab.errors import ConfigError
from nnlab.ocr.segment import find_letters, to_grey


def _matches(found, written) -> int:
    """How many written boxes (top, left, bottom, right) contain exactly one found box's centre."""
    centres = [((b.top + b.bottom) / 2, (b.left + b.right) / 2) for b in found]
    return sum(
        sum(t <= y < bt and lf <= x < r for y, x in centres) == 1 for t, lf, bt, r in written
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_page_gives_one_box_per_character_in_place(seed):
    page = render_page(seed=seed)
    found = find_letters(page.image)
    assert len(found) == len(page.boxes) == len(page.text.replace(" ", "").replace("\n", ""))
    assert _matches(found, page.boxes) == len(page.boxes)


def test_photo_troubles_leave_the_count_about_right():
    page = render_page(seed=3, slant=0.08, blur=0.6, lighting=0.4, noise=0.02)
    assert abs(len(find_letters(page.image)) - len(page.boxes)) <= 1


def test_broken_stroke_is_merged_and_specks_are_dropped():
    page = np.full((200, 300), 255, np.uint8)
    page[50:150, 40:50] = 0  # a bar: "I"
    page[50:95, 140:150] = 0  # an "I" broken in two by a 10 px gap (more than closing joins)
    page[105:150, 140:150] = 0
    page[50:150, 220:260] = 0  # a block, for a third character
    page[20, 100] = page[180:182, 200:202] = 0  # dust
    found = find_letters(page)
    assert [(b.top, b.left, b.bottom, b.right) for b in found] == [
        (50, 40, 150, 50),
        (50, 140, 150, 150),
        (50, 220, 150, 260),
    ]


def test_blank_tiny_and_unusual_inputs():
    assert find_letters(np.full((100, 100), 255, np.uint8)) == []
    assert find_letters(np.full((100, 100), 200, np.uint8) + np.uint8(3)) == []
    assert find_letters(np.zeros((1, 1), np.uint8)) == []
    page = render_page("AB 12", seed=0).image
    grey = find_letters(page)
    assert len(grey) == 4
    # 16-bit, RGBA (opaque) and a torch [C, H, W] tensor give the same boxes as 8-bit grey
    assert find_letters(page.astype(np.uint16) * 257) == grey
    rgba = np.dstack([page, page, page, np.full_like(page, 255)])
    assert find_letters(rgba) == grey
    assert find_letters(torch.from_numpy(np.stack([page] * 3))) == grey
    # a fully transparent RGBA page is white paper
    assert find_letters(rgba * np.array([1, 1, 1, 0], np.uint8)) == []


def test_to_grey_composites_alpha_on_white_and_refuses_batches():
    rgba = np.zeros((2, 2, 4), np.uint8)  # black, transparent
    rgba[0, 0, 3] = 255  # one opaque black pixel
    assert to_grey(rgba).tolist() == [[0.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ConfigError, match="one image, not a batch"):
        to_grey(np.zeros((2, 3, 4, 5), np.uint8))
