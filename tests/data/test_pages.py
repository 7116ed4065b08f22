"""Rendered OCR pages: the text and boxes they report, determinism, and the photo troubles."""

import numpy as np
import pytest

from nnlab.data.pages import SAMPLE_TEXT, render_page
from nnlab.errors import ConfigError


def test_clean_page_holds_ink_only_inside_its_character_boxes():
    page = render_page("AB 7\nXYZ", seed=0)
    assert page.text == "AB 7\nXYZ"
    assert page.image.dtype == np.uint8 and page.image.ndim == 2
    assert len(page.boxes) == 6
    inside = np.zeros(page.image.shape, bool)
    for top, left, bottom, right in page.boxes:
        assert page.image[top:bottom, left:right].min() < 64  # each box holds dark ink
        inside[top:bottom, left:right] = True
    assert (page.image[~inside] == 255).all()  # and nothing is drawn outside them
    # reading order: the first line's boxes left to right, above the second line's
    lefts = [b[1] for b in page.boxes]
    assert lefts[:3] == sorted(lefts[:3]) and lefts[3:] == sorted(lefts[3:])
    assert max(b[2] for b in page.boxes[:3]) < min(b[0] for b in page.boxes[3:])


def test_same_seed_same_page_other_seed_other_fonts():
    a, b = render_page(seed=5), render_page(seed=5)
    assert np.array_equal(a.image, b.image) and a.boxes == b.boxes
    assert not np.array_equal(render_page(seed=6).image, a.image)
    assert a.text == SAMPLE_TEXT


def test_troubles_change_the_page_as_asked():
    clean = render_page(seed=1).image.astype(float)
    lit = render_page(seed=1, lighting=0.5).image.astype(float)
    assert lit.shape == clean.shape
    # the paper (white in the clean page) darkens by up to half, and somewhere stays white
    paper = clean == 255
    assert 0.45 * 255 <= (clean - lit)[paper].max() <= 0.5 * 255 + 1
    assert (clean - lit)[paper].min() <= 1
    # noise on white paper is clipped above: its mean darkening is E[max(0, -n)] = sigma/sqrt(2 pi)
    noisy = render_page(seed=1, noise=0.05).image.astype(float)
    darkening = (clean - noisy)[paper].mean()
    assert darkening == pytest.approx(0.05 * 255 / np.sqrt(2 * np.pi), rel=0.15)
    # blur softens edges: the steepest step between horizontal neighbours gets smaller
    blurred = render_page(seed=1, blur=1.5).image.astype(float)
    assert np.abs(np.diff(blurred, axis=1)).max() < 0.7 * np.abs(np.diff(clean, axis=1)).max()
    slanted = render_page(seed=1, slant=0.2).image
    assert not np.array_equal(slanted, clean.astype(np.uint8))


def test_refuses_characters_it_cannot_draw():
    with pytest.raises(ConfigError, match="capitals"):
        render_page("hello, world")
    with pytest.raises(ConfigError, match="height"):
        render_page("A", height=4)
