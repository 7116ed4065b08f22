"""Settings: defaults are the full scale, scales and `--set` override them, bad input is refused."""

from dataclasses import dataclass
from typing import Literal

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.config import (
    ExperimentConfig,
    PositiveFloat,
    PositiveInt,
    describe_fields,
    parse_assignments,
    resolve,
)


@dataclass
class Demo(ExperimentConfig):
    epochs: PositiveInt = 20
    lr: PositiveFloat = 0.01
    dataset: str = "mnist"
    augment: bool = False
    hidden: tuple[int, ...] = (512, 256)
    limit: PositiveInt | None = None
    optimizer: Literal["sgd", "adam"] = "sgd"


SCALES = {"smoke": {"epochs": 1, "dataset": "digits"}, "quick": {"epochs": 5}}


def test_full_scale_is_the_defaults():
    assert resolve(Demo, "full", SCALES) == Demo()


def test_scale_then_user_settings_override():
    cfg = resolve(Demo, "smoke", SCALES, {"epochs": "3", "lr": "0.1"})
    assert (cfg.epochs, cfg.lr, cfg.dataset) == (3, 0.1, "digits")
    assert resolve(Demo, "quick", SCALES).epochs == 5


def test_strings_are_parsed_by_the_declared_type():
    cfg = resolve(
        Demo,
        overrides={
            "augment": "yes",
            "hidden": "128,64,32",
            "limit": "500",
            "optimizer": "adam",
            "seed": "7",
        },
    )
    assert cfg.augment is True and cfg.hidden == (128, 64, 32) and cfg.limit == 500
    assert cfg.optimizer == "adam" and cfg.seed == 7
    assert resolve(Demo, overrides={"limit": "none", "hidden": ""}).limit is None
    assert resolve(Demo, overrides={"hidden": ""}).hidden == ()
    # values from config.json (resume) arrive as JSON types: lists for tuples
    assert resolve(Demo, overrides={"hidden": [8, 4], "lr": 1}).hidden == (8, 4)
    assert resolve(Demo, overrides={"epochs": 4.0}).epochs == 4


def test_unknown_key_lists_the_valid_settings_and_a_close_match():
    with pytest.raises(ConfigError) as err:
        resolve(Demo, overrides={"epoch": "3"})
    message = str(err.value)
    assert "'epoch'" in message and "Did you mean epochs" in message
    for name in ("seed", "epochs", "lr", "dataset", "augment", "hidden", "limit", "optimizer"):
        assert name in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("epochs", "2.5", "expects an integer"),
        ("epochs", "many", "expects an integer"),
        ("lr", "fast", "expects a number"),
        ("augment", "maybe", "true or false"),
        ("hidden", "1,x", "expects an integer"),
        ("optimizer", "rmsprop", "one of 'sgd', 'adam'"),
        ("epochs", "0", "must be > 0"),
        ("lr", "-0.1", "must be > 0"),
        ("limit", "abc", "expects an integer"),
    ],
)
def test_bad_values_are_refused_with_the_reason(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        resolve(Demo, overrides={key: value})


def test_unknown_scale():
    with pytest.raises(ConfigError, match="smoke, quick, full"):
        resolve(Demo, "tiny", SCALES)


def test_a_scale_naming_an_unknown_setting_is_caught():
    with pytest.raises(ConfigError, match="scale: unknown setting 'epoc'"):
        resolve(Demo, "smoke", {"smoke": {"epoc": 1}})


def test_parse_assignments():
    assert parse_assignments(["a=1", "b = x=y", "a=2"]) == {"a": "2", "b": "x=y"}
    for bad in ("epochs", "=3"):
        with pytest.raises(ConfigError, match="key=value"):
            parse_assignments([bad])


def test_describe_fields_gives_types_and_full_defaults():
    described = {name: (kind, default) for name, kind, default in describe_fields(Demo)}
    assert described["epochs"] == ("int > 0", 20)
    assert described["hidden"] == ("tuple[int, ...]", (512, 256))
    assert described["limit"][0] == "int > 0 | None"
