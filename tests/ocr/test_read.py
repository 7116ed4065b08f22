"""Reading rendered pages with a tiny classifier trained on glyphs36, and the crops' look."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnlab import data
from nnlab.data import transforms
from nnlab.data.loaders import hand36
from nnlab.data.pages import render_page
from nnlab.errors import ConfigError
from nnlab.ocr.classifier import Augment, character_cnn
from nnlab.ocr.read import character_images, read, read_page, standardise
from nnlab.ocr.score import character_accuracy
from nnlab.ocr.segment import segment
from nnlab.train import fit


@pytest.fixture(scope="module")
def classifier():
    """A tiny CNN trained on 3600 glyphs36 images in the crops' look (a few seconds)."""
    train = data.load("glyphs36", "train", limit=3600, seed=0)
    train = replace(train, x=standardise(train.x))
    torch.manual_seed(0)
    model = character_cnn(36, (16, 32, 32), strides=(2, 2, 2))
    # one thread: this tiny network gains nothing from two, and on a CPU shared with other
    # processes two threads wait on each other (2 s became 110 s when measured so)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fit(
            model,
            train,
            epochs=5,
            optimizer=torch.optim.Adam(model.parameters(), lr=3e-3),
            loss=F.cross_entropy,
            batch_size=64,
            transform=transforms.to_float,
            device="cpu",
            precision="fp32",
        )
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def test_clean_pages_are_read_at_95_percent(classifier):
    pages = [render_page(seed=seed) for seed in range(3)]
    texts = [read(p.image, classifier) for p in pages]
    # lines and words come out where they were written, whatever the characters read
    for page, text in zip(pages, texts, strict=True):
        assert [len(w) for w in text.split()] == [len(w) for w in page.text.split()]
        assert text.count("\n") == page.text.count("\n")
    accuracy = np.mean([character_accuracy(t, p.text) for t, p in zip(texts, pages, strict=True)])
    assert accuracy >= 0.95, texts


def test_photo_like_pages_are_read(classifier):
    pages = [render_page(seed=s, slant=0.08, blur=0.6, lighting=0.4, noise=0.02) for s in (4, 5)]
    accuracy = np.mean([character_accuracy(read(p.image, classifier), p.text) for p in pages])
    assert accuracy >= 0.9


def test_any_callable_with_the_label_set_is_a_classifier(classifier):
    page = render_page("AB 12", seed=0)

    def numpy_scores(x: torch.Tensor) -> np.ndarray:
        assert x.dtype == torch.float32 and x.shape[1:] == (1, 32, 32)
        assert x.min() >= 0 and x.max() <= 1
        with torch.no_grad():
            return classifier(x).numpy()

    assert read(page.image, numpy_scores) == read(page.image, classifier)
    with pytest.raises(ConfigError, match="one score per class"):
        read(page.image, lambda x: torch.zeros(len(x), 10))


def test_nothing_to_read_gives_empty_text(classifier):
    assert read(np.full((50, 80), 255, np.uint8), classifier) == ""
    assert read(np.zeros((1, 1), np.uint8), classifier) == ""
    assert read(np.zeros((1, 1, 4), np.uint16), classifier) == ""


def test_crops_look_like_hand36():
    """Dark ink on white paper, ink box about hand36.BOX px, centred, as hand36's images."""
    page = render_page("HI", seed=0, height=120)
    crops = character_images(segment(page.image))
    assert crops.shape == (2, 1, 32, 32) and crops.dtype == torch.uint8
    ink = 1 - crops.float() / 255  # [2, 1, 32, 32], 1 = ink
    assert (ink[..., 0, :] < 0.1).all() and (ink[..., :, 0] < 0.1).all()  # paper at the edges
    rows = (ink > 0.5).any(-1)[:, 0]  # [2, 32]: rows holding ink
    cols = (ink > 0.5).any(-2)[:, 0]
    longest = torch.maximum(rows.sum(1), cols.sum(1)).float()
    assert ((longest - hand36.BOX).abs() <= 3).all(), longest


def test_reading_keeps_the_raw_text_and_the_boxes(classifier):
    page = render_page("AB\nC1", seed=1)
    found = read_page(page.image, classifier, one_kind_per_word=False)
    assert found.text == found.raw_text
    assert len(found.boxes) == len(found.chars) == len(found.images) == 4


def test_augment_keeps_paper_white_and_the_range():
    x = torch.full((4, 1, 32, 32), 255, dtype=torch.uint8)
    out = Augment(torch.Generator().manual_seed(0))(x)
    assert out.dtype == torch.float32 and torch.allclose(out, torch.ones_like(out))
    x[:, :, 12:20, 12:20] = 0
    out = Augment(torch.Generator().manual_seed(0))(x)
    assert 0 <= out.min() < 0.5 and out.max() <= 1
    # the ink moves but its amount stays about the same (scale within 10 %: area within ~21 %)
    area = (1 - out).sum((1, 2, 3))
    assert ((area / 64 - 1).abs() < 0.3).all(), area
