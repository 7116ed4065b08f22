"""Linear probes on cached features, and the model inside an nnlab checkpoint."""

import pytest
import torch

from nnlab.data import ImageSet
from nnlab.errors import ConfigError, CorruptFileError
from nnlab.models import build
from nnlab.models.weights import checkpoint_model
from nnlab.train import evaluate, fit
from nnlab.train.probe import LinearProbe, extract_features


def _images(n=40, size=32, classes=4) -> ImageSet:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    return ImageSet(x, torch.arange(n) % classes, tuple("abcd"[:classes]), "noise", "train")


def _float(x):
    return x.float() / 127.5 - 1


def test_a_probe_on_cached_features_trains_the_head_as_on_the_images():
    train, val = _images(), _images(16)
    results = []
    for cache in (True, False):
        torch.manual_seed(0)
        model = build("lenet5", num_classes=4, in_chans=3)
        probe = LinearProbe(model, transform=_float, device=torch.device("cpu"), cache=cache)
        head = model.classifier[4]
        history = fit(
            probe.trainable,
            probe.inputs(train),
            probe.inputs(val),
            epochs=2,
            batch_size=8,
            optimizer=torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9),
            transform=probe.transform,
            device="cpu",
            precision="fp32",  # the cached features are float32
        )
        test = evaluate(probe.trainable, probe.inputs(val), transform=probe.transform)
        results.append((head.weight.detach().clone(), history, test, model))
    (w_cached, h_cached, t_cached, _), (w_images, h_images, t_images, model) = results
    torch.testing.assert_close(w_cached, w_images)
    assert [r["train_loss"] for r in h_cached] == pytest.approx([r["train_loss"] for r in h_images])
    assert torch.equal(t_cached.predictions, t_images.predictions)
    assert not model.features.training  # the frozen part stayed in eval mode during the fit


def test_features_are_the_heads_input_and_a_head_that_is_not_last_is_refused():
    torch.manual_seed(0)
    model = build("lenet5", num_classes=4, in_chans=3).eval()
    images = _images(10)
    features = extract_features(model, images, transform=_float, device=torch.device("cpu"))
    with torch.no_grad():
        expected = model.classifier[:4](model.features(_float(images.x)).flatten(1))
    torch.testing.assert_close(features.x, expected)
    assert torch.equal(features.y, images.y) and len(features) == 10
    squeezenet = build("squeezenet1_1", num_classes=4)
    with pytest.raises(ConfigError, match="not its last layer"):
        extract_features(squeezenet, images, transform=_float, device=torch.device("cpu"))


def test_checkpoint_model_reads_the_model_state_and_refuses_other_files(tmp_path):
    torch.manual_seed(0)
    model = build("lenet5", num_classes=3)
    torch.save({"model": model.state_dict(), "epoch": 1}, tmp_path / "a.pt")
    state = checkpoint_model(tmp_path / "a.pt")
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(CorruptFileError, match="not an nnlab checkpoint"):
        checkpoint_model(tmp_path / "bare.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CorruptFileError, match="damaged"):
        checkpoint_model(tmp_path / "junk.pt")
