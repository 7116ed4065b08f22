"""Pretrained weights: found by name, verified by the SHA-256 prefix of their name, really used.

No published weight file can be brought onto these machines, so the tests write state dicts in
torchvision's file layout and naming (`<name>-<first 8 hex digits of the SHA-256>.pth`) and
point the architecture's entry at them; a local HTTP server stands in for the download site.
"""

import datetime
import hashlib
import http.server
import os
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import torch

from nnlab.data import data_root
from nnlab.errors import CorruptFileError, MissingDataError
from nnlab.models import build, weights
from nnlab.models.weights import PRETRAINED, find_weights, hash_prefix, pretrained, read_weights

ARCH = "squeezenet1_1"  # the smallest published architecture (1.2M parameters, 4.9 MB)


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """An empty data root and torch hub cache; returns (data root, weights dir, hub dir)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folders = weights.weights_dirs(tmp_path / "data")
    return tmp_path / "data", folders[0], folders[1]


def _save(model: torch.nn.Module, folder: Path, stem: str, prefix: str | None = None) -> Path:
    """Save a state dict as torchvision does; name it with its own SHA-256 prefix (or `prefix`)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "tmp.pth"
    torch.save(model.state_dict(), tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"{stem}-{prefix or digest[:8]}.pth"
    os.replace(tmp, path)
    return path


def _point_at(monkeypatch, arch: str, path: Path, base: str = "https://example.invalid/") -> None:
    """Make `arch`'s published file the one at `path` (its name carries the hash)."""
    monkeypatch.setitem(PRETRAINED, arch, replace(PRETRAINED[arch], url=base + path.name))


def test_hash_prefix_reads_torchvisions_names():
    assert hash_prefix("resnet18-f37072fd.pth") == "f37072fd"
    assert hash_prefix("alexnet-owt-7be5be79.pth") == "7be5be79"
    assert hash_prefix("vgg16_features-amdegroot-88682ab5.pth") == "88682ab5"
    assert hash_prefix("resnet18.pth") is None
    assert hash_prefix("resnet18-f3707.pth") is None  # too short to mean anything
    assert all(hash_prefix(p.file_name) == p.sha256_prefix for p in PRETRAINED.values())


def test_weights_loaded_by_name_give_the_source_models_outputs(roots, monkeypatch):
    root, weights_dir, _ = roots
    torch.manual_seed(1)
    source = build(ARCH).eval()
    _point_at(monkeypatch, ARCH, _save(source, weights_dir, ARCH))
    torch.manual_seed(2)  # a different initialisation: only loading makes the outputs equal
    model = pretrained(ARCH, root=root, download=False).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))
        assert not torch.equal(build(ARCH).eval()(x), source(x))


def test_a_new_head_keeps_the_backbone_and_has_the_new_classes(roots, monkeypatch):
    root, weights_dir, _ = roots
    torch.manual_seed(1)
    source = build(ARCH)
    _point_at(monkeypatch, ARCH, _save(source, weights_dir, ARCH))
    model = pretrained(ARCH, num_classes=17, root=root, download=False)
    assert model.classifier[1].weight.shape == (17, 512, 1, 1)
    for key, value in source.features.state_dict().items():
        assert torch.equal(model.features.state_dict()[key], value)


def test_the_hub_cache_is_searched_after_the_data_folder(roots, monkeypatch):
    root, weights_dir, hub_dir = roots
    torch.manual_seed(3)
    path = _save(build(ARCH), hub_dir, ARCH)
    _point_at(monkeypatch, ARCH, path)
    assert find_weights(ARCH, root=root, download=False) == path
    copy = weights_dir / path.name
    weights_dir.mkdir(parents=True)
    copy.write_bytes(path.read_bytes())
    assert find_weights(ARCH, root=root, download=False) == copy


def test_a_mismatching_prefix_is_refused(roots, monkeypatch):
    root, weights_dir, _ = roots
    path = _save(build("lenet5"), weights_dir, ARCH, prefix="0123abcd")
    _point_at(monkeypatch, ARCH, path)
    with pytest.raises(CorruptFileError, match="0123abcd") as err:
        pretrained(ARCH, root=root, download=False)
    assert str(path) in str(err.value) and "download it again" in str(err.value)


def test_a_corrupted_file_is_refused(roots, monkeypatch):
    root, weights_dir, _ = roots
    path = _save(build("lenet5"), weights_dir, "lenet5")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the tensors
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="damaged"):
        read_weights(path)


def test_a_file_without_a_hash_in_its_name_is_refused(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(build("lenet5").state_dict(), path)
    with pytest.raises(CorruptFileError, match="no such prefix"):
        read_weights(path)


def test_weights_of_another_architecture_are_refused_by_name(roots, monkeypatch):
    root, weights_dir, _ = roots
    # a genuine file (its own hash matches) of LeNet-5, under SqueezeNet's name
    _point_at(monkeypatch, ARCH, _save(build("lenet5"), weights_dir, ARCH))
    with pytest.raises(CorruptFileError, match="does not fit SqueezeNet: missing features.3"):
        pretrained(ARCH, root=root, download=False)


def test_a_pickle_that_is_not_a_state_dict_is_refused(tmp_path):
    tmp = tmp_path / "x.pth"
    # weights_only=True refuses to build objects of arbitrary classes, such as a date
    torch.save({"weight": datetime.date(2020, 1, 1)}, tmp)
    path = tmp_path / f"evil-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.pth"
    tmp.rename(path)
    with pytest.raises(CorruptFileError, match="cannot be read as a weights file"):
        read_weights(path)


def test_a_missing_file_offline_names_the_file_and_where_to_put_it(roots, monkeypatch):
    root, weights_dir, hub_dir = roots
    with pytest.raises(MissingDataError) as err:
        find_weights("resnet18", root=root, download=False)
    message = str(err.value)
    assert "resnet18-f37072fd.pth" in message and str(weights_dir) in message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    # a download that cannot connect says the same (port 9: nothing listens there)
    spec = replace(PRETRAINED["resnet18"], url="http://127.0.0.1:9/resnet18-f37072fd.pth")
    monkeypatch.setitem(PRETRAINED, "resnet18", spec)
    with pytest.raises(MissingDataError, match=f"put it in {weights_dir}"):
        find_weights("resnet18", root=root)
    assert not hub_dir.exists() or not any(hub_dir.iterdir())


@pytest.fixture
def server(tmp_path):
    """A local HTTP server for a folder: the stand-in for download.pytorch.org."""
    folder = tmp_path / "site"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *args: None
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_a_download_is_verified_then_kept_in_the_hub_cache(roots, monkeypatch, server):
    root, _, hub_dir = roots
    folder, base = server
    torch.manual_seed(4)
    source = build("lenet5")
    served = _save(source, folder, "lenet5")
    monkeypatch.setitem(PRETRAINED, "lenet5", replace(PRETRAINED[ARCH], arch="lenet5"))
    _point_at(monkeypatch, "lenet5", served, base)
    path = find_weights("lenet5", root=root)
    assert path == hub_dir / served.name and path.read_bytes() == served.read_bytes()
    model = pretrained("lenet5", num_classes=1000, root=root)
    x = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))


def test_a_download_that_does_not_match_its_name_is_not_kept(roots, monkeypatch, server):
    root, _, hub_dir = roots
    folder, base = server
    served = _save(build("lenet5"), folder, "lenet5", prefix="deadbeef")
    monkeypatch.setitem(PRETRAINED, "lenet5", replace(PRETRAINED[ARCH], arch="lenet5"))
    _point_at(monkeypatch, "lenet5", served, base)
    with pytest.raises(CorruptFileError, match="not kept"):
        find_weights("lenet5", root=root)
    assert list(hub_dir.iterdir()) == []  # neither the file nor a partial download


def test_every_weight_file_in_the_data_folder_loads_strictly():
    """The real torchvision files, where someone has put them into NNLAB_DATA/weights."""
    folder = data_root() / "weights"
    known = {p.file_name: arch for arch, p in PRETRAINED.items()}
    files = sorted(folder.glob("*.pth")) if folder.is_dir() else []
    if not files:
        # MANIFEST.md: no weight file could be brought here, so this is a skip even in CI
        pytest.skip(f"no .pth files in {folder}")
    for path in files:
        arch = known.get(path.name) or next(
            (a for a in PRETRAINED if path.name.startswith(a + "-")), None
        )
        assert arch is not None, f"{path.name} is no known torchvision weight file"
        model = build(arch)
        weights.load_into(model, read_weights(path), str(path))  # strict, hash checked
