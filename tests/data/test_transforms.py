"""Batch transforms against independent references: closed forms, PIL, NumPy and per-image loops."""

from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image

from nnlab.data.transforms import (
    Compose,
    center_crop,
    grey_to_rgb,
    normalize,
    permute_pixels,
    pixel_permutation,
    random_crop,
    random_flip,
    resize,
    to_float,
    to_signed,
    unpermute_pixels,
)
from nnlab.errors import ConfigError

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _images(b=4, c=3, h=6, w=5, seed=0):
    """Random uint8 images [b, c, h, w]."""
    return torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, generator=_gen(seed))


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ---- scaling


def test_to_float_and_to_signed_map_every_byte_value():
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    v = np.arange(256, dtype=np.float64).reshape(1, 1, 16, 16)
    f, s = to_float(x), to_signed(x)
    assert f.dtype == s.dtype == torch.float32
    np.testing.assert_allclose(f.numpy(), v / 255, atol=1e-7)
    np.testing.assert_allclose(s.numpy(), v / 127.5 - 1, atol=1e-7)
    assert (f.min().item(), f.max().item()) == (0.0, 1.0)
    assert (s.min().item(), s.max().item()) == (-1.0, 1.0)  # exactly, at 0 and 255


def test_scaling_rejects_images_already_float():
    with pytest.raises(ConfigError, match="uint8"):
        to_signed(torch.zeros(1, 1, 2, 2))


def test_normalize_matches_per_channel_numpy():
    x = to_float(_images())
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ref = np.stack(
        [(x[:, c].numpy() - mean[c]) / std[c] for c in range(3)], axis=1
    )  # loop over channels: an independent spelling of the broadcast
    np.testing.assert_allclose(normalize(x, mean, std).numpy(), ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("mean", "std", "match"),
    [
        ((0.5,), (0.5,), "3 channel"),
        ((0.5,) * 3, (0.5, 0.0, 0.5), "positive"),
        (0.5, 0.5, "sequence"),
    ],
)
def test_normalize_rejects_bad_statistics(mean, std, match):
    with pytest.raises(ConfigError, match=match):
        normalize(to_float(_images()), mean, std)


# ---- geometry


def test_resize_upsample_matches_closed_form():
    # value = 2 * row + col; bilinear with half-pixel centres samples rows/cols at
    # (i + 0.5) / 2 - 0.5 clamped to [0, 1] = 0, 0.25, 0.75, 1
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]]).view(1, 1, 2, 2)
    a = np.array([0, 0.25, 0.75, 1])
    ref = 2 * a[:, None] + a[None, :]
    out = resize(x, 4)
    assert out.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(out[0, 0].numpy(), ref, atol=1e-6)


@pytest.mark.parametrize("size", [(4, 4), (3, 5), (11, 13), (16, 6)])
def test_resize_matches_pil_bilinear(size):
    # PIL's bilinear filter (antialiased when shrinking) is an independent implementation
    a = np.random.default_rng(1).random((8, 8)).astype(np.float32)
    ref = np.asarray(Image.fromarray(a, mode="F").resize(size[::-1], Image.BILINEAR))
    out = resize(torch.from_numpy(a).view(1, 1, 8, 8), size)
    assert out.shape == (1, 1, *size)
    np.testing.assert_allclose(out[0, 0].numpy(), ref, atol=1e-5)


def test_resize_keeps_uint8_rounded_and_returns_same_size_unchanged():
    x = _images(h=8, w=8)
    out = resize(x, (4, 6))
    assert out.dtype == torch.uint8 and out.shape == (4, 3, 4, 6)
    ref = resize(x.float(), (4, 6)).round().clamp(0, 255)
    assert torch.equal(out, ref.to(torch.uint8))
    assert resize(x, (8, 8)) is x
    with pytest.raises(ConfigError, match="resize size"):
        resize(x, (4, 0))


def test_grey_to_rgb():
    x = _images(c=1)
    rgb = grey_to_rgb(x)
    assert rgb.shape == (4, 3, 6, 5)
    for c in range(3):
        assert torch.equal(rgb[:, c], x[:, 0])
    x3 = _images(c=3)
    assert grey_to_rgb(x3) is x3
    with pytest.raises(ConfigError, match="got 2"):
        grey_to_rgb(_images(c=2))


# ---- pixel permutation


def test_pixel_permutation_is_a_seeded_bijection_independent_of_global_rng():
    torch.manual_seed(1)
    p = pixel_permutation(784, seed=7)
    torch.manual_seed(2)
    state = torch.get_rng_state()
    assert torch.equal(pixel_permutation(784, seed=7), p)  # global seed does not matter
    assert torch.equal(torch.get_rng_state(), state)  # and is not advanced
    assert p.dtype == torch.int64
    assert torch.equal(torch.sort(p).values, torch.arange(784))
    assert not torch.equal(pixel_permutation(784, seed=8), p)
    assert not torch.equal(p, torch.arange(784))


def test_permute_pixels_reference_inverse_and_pixel_multiset():
    x = _images(b=3, c=2, h=4, w=5)
    perm = pixel_permutation(20, seed=0)
    out = permute_pixels(x, perm)
    # reference: out[b, c].flatten()[i] == x[b, c].flatten()[perm[i]], by loops
    xf, of = x.numpy().reshape(3, 2, 20), out.numpy().reshape(3, 2, 20)
    for b in range(3):
        for c in range(2):
            for i in range(20):
                assert of[b, c, i] == xf[b, c, perm[i]]
    # each image keeps exactly its pixels (as a multiset), channels moved together
    assert torch.equal(torch.sort(out.flatten(2)).values, torch.sort(x.flatten(2)).values)
    assert torch.equal(unpermute_pixels(out, perm), x)
    with pytest.raises(ConfigError, match="20 pixels"):
        permute_pixels(x, pixel_permutation(21, seed=0))


# ---- augmentation


def test_random_crop_takes_a_window_of_the_padded_image_at_per_image_offsets():
    b, pad, size = 400, 2, (6, 5)
    x = _images(b=b, c=2, h=6, w=5)
    out = random_crop(x, size, pad, _gen(3))
    assert out.shape == (b, 2, 6, 5) and out.dtype == torch.uint8
    # reference by loops: zero-pad with NumPy, find every window of the padded image that equals
    # the output; with random content exactly one does
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    offsets = []
    for i in range(b):
        hits = [
            (t, l)
            for t in range(2 * pad + 1)
            for l in range(2 * pad + 1)
            if np.array_equal(padded[i, :, t : t + 6, l : l + 5], out[i].numpy())
        ]
        assert len(hits) == 1, f"image {i}: {len(hits)} matching windows"
        offsets.append(hits[0])
    assert len(set(offsets)) == (2 * pad + 1) ** 2  # every offset occurs: drawn per image


def test_random_crop_is_deterministic_per_generator_and_checks_size():
    x = _images(b=16, h=8, w=8)
    a = random_crop(x, 8, 4, _gen(0))
    assert torch.equal(a, random_crop(x, 8, 4, _gen(0)))
    assert not torch.equal(a, random_crop(x, 8, 4, _gen(1)))
    assert torch.equal(random_crop(x, 8, 0, _gen(0)), x)  # the only window is the image
    with pytest.raises(ConfigError, match="does not fit"):
        random_crop(x, 9, 0, _gen(0))


@pytest.mark.parametrize(
    "shape, size, top, left",
    [
        ((8, 8), 4, 2, 2),  # even margins: centred exactly
        ((7, 6), (4, 3), 2, 2),  # odd margins of 3: torchvision's int(round(1.5)) = 2
        ((9, 5), (4, 5), 2, 0),  # margin 5: round(2.5) = 2 (round half to even, as torchvision)
        ((256, 256), 224, 16, 16),  # the ImageNet evaluation crop
    ],
)
def test_center_crop_takes_torchvisions_central_window(shape, size, top, left):
    x = torch.arange(3 * shape[0] * shape[1]).reshape(1, 3, *shape)
    h, w = (size, size) if isinstance(size, int) else size
    assert torch.equal(center_crop(x, size), x[..., top : top + h, left : left + w])


def test_center_crop_refuses_a_window_larger_than_the_image():
    with pytest.raises(ConfigError, match="does not fit"):
        center_crop(_images(h=6, w=5), 6)


def test_random_flip_flips_a_random_half_exactly():
    x = _images(b=1000, c=1, h=3, w=4)
    out = random_flip(x, _gen(0))
    flipped = torch.flip(x, dims=[3])
    same = (out == x).flatten(1).all(1)
    mirrored = (out == flipped).flatten(1).all(1)
    assert bool((same | mirrored).all())  # each output is its image or its mirror image
    assert 400 < int(mirrored.sum()) < 600
    assert torch.equal(out, random_flip(x, _gen(0)))
    assert torch.equal(random_flip(x, _gen(0), p=0.0), x)
    assert torch.equal(random_flip(x, _gen(0), p=1.0), flipped)


def test_compose_applies_left_to_right():
    x = _images()
    chain = Compose(to_float, partial(normalize, mean=(0.5,) * 3, std=(0.25,) * 3))
    assert torch.equal(chain(x), normalize(to_float(x), (0.5,) * 3, (0.25,) * 3))
    with pytest.raises(ConfigError):
        Compose(to_float, 3)


@CUDA
def test_random_transforms_on_cuda_match_cpu():
    x = _images(b=64, h=8, w=8)
    xc = x.cuda()
    assert torch.equal(random_crop(xc, 8, 4, _gen(5)).cpu(), random_crop(x, 8, 4, _gen(5)))
    assert torch.equal(random_flip(xc, _gen(5)).cpu(), random_flip(x, _gen(5)))
    perm = pixel_permutation(64, seed=0, device="cuda")
    assert torch.equal(permute_pixels(xc, perm).cpu(), permute_pixels(x, perm.cpu()))
    assert torch.allclose(resize(to_float(xc), 4).cpu(), resize(to_float(x), 4), atol=1e-6)
