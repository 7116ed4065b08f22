"""`multitask`: the group mapping, the exact λ = 1 twin, savings, from the smoke run."""

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.config import resolve
from nnlab.experiments.multitask import Config, group_map

FASHION = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def test_the_study_groups_map_fashion_mnist_items():
    names, label_map = group_map(Config().groups, FASHION)
    assert names == ["shoes", "gendered", "uniform"]
    #          T-sh Trou Pull Dres Coat Sand Shir Snea Bag  Ankl
    assert label_map == [2, 2, 2, 1, 2, 0, 1, 0, 1, 0]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (("a=Sandal|Sneaker",), "in no group"),
        (("a=Sandal|Boot",), "'Boot' .* is not a class"),
        (("a=Sandal", "b=Sandal"), "in both 'a' and 'b'"),
        (("Sandal|Sneaker",), "not 'name=class"),
    ],
)
def test_bad_groups_are_explained(groups, message):
    with pytest.raises(ConfigError, match=message):
        group_map(groups, FASHION)


def test_the_suggested_groups_fit_the_dataset():
    classes = ("cat", "dog", "owl")
    with pytest.raises(ConfigError) as caught:
        group_map(Config().groups, classes)
    suggested = str(caught.value).split("--set 'groups=")[1].rstrip("'")
    names, label_map = group_map(tuple(suggested.split(",")), classes)
    assert names == ["first", "second"] and label_map == [0, 0, 1]


def test_smoke_run_through_the_cli_compares_mtl_with_single_task_nets(smoke_run):
    run_dir, metrics = smoke_run("multitask")
    for name in ("models", "savings"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    assert (run_dir / "figures" / "accuracy_curves.png").is_file()
    # at lambda = 1 the MTL net's trunk and item head train exactly as the single item net
    assert metrics["models.mtl_1.task1_acc"] == metrics["models.single_item.task1_acc"]
    # one trunk saved: 784 -> 64 (smoke trunk) is 784 * 64 + 64 parameters
    assert metrics["savings.one_mtl_net.saved"] == 784 * 64 + 64
    for lam in ("0_25", "0_5", "0_75"):
        assert metrics[f"models.mtl_{lam}.task1_acc"] > 0.7
        assert metrics[f"models.mtl_{lam}.task2_acc"] > 0.7
    assert metrics["best_lambda"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    report = (run_dir / "report.md").read_text()
    assert metrics["verdict.held"] in (True, False)
    item_gaps = [
        metrics[f"models.mtl_{lam}.task1_acc"] - metrics["models.single_item.task1_acc"]
        for lam in ("0_25", "0_5", "0_75")
    ]
    assert metrics["verdict.item_gap"] in item_gaps  # the chosen 0 < λ < 1 net's gap
    assert "The best MTL net with 0 < λ < 1" in report


def test_settings_are_checked():
    assert resolve(Config, overrides={"trunk": "128x2"}).trunk == (128, 128)
    with pytest.raises(ConfigError, match="lambdas must be in"):
        Config(lambdas=(0.5, 1.5))
    with pytest.raises(ConfigError, match="trunk needs at least one layer"):
        Config(trunk=())
