"""Models are built by name; unknown names suggest close matches."""

import pytest
from torch import nn

from nnlab.errors import UnknownNameError
from nnlab.models import MODELS, build, register_model


def test_build_passes_settings_and_unknown_names_suggest():
    name = "test-linear-registry"
    if name not in MODELS:
        register_model(name)(lambda in_features, out_features: nn.Linear(in_features, out_features))
    model = build(name, in_features=3, out_features=2)
    assert isinstance(model, nn.Linear) and model.weight.shape == (2, 3)
    with pytest.raises(UnknownNameError, match=name):
        build("test-linear-registr")
