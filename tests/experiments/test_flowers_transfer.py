"""`flowers-transfer`: the custom CNN, and both models' curves and test accuracy at smoke scale."""

import torch

from nnlab.experiments.flowers_transfer import ScratchCNN


def test_the_custom_cnn_has_four_blocks_and_takes_any_size():
    model = ScratchCNN(17, width=32)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256]
    by_hand = sum(9 * c.in_channels * c.out_channels + 2 * c.out_channels for c in convs)
    assert sum(p.numel() for p in model.parameters()) == by_hand + 256 * 17 + 17
    assert model(torch.zeros(2, 3, 96, 80)).shape == (2, 17)


def test_smoke_run_through_the_cli_reports_both_models(smoke_run):
    run_dir, metrics = smoke_run("flowers-transfer")
    assert (run_dir / "tables" / "test_accuracy.csv").is_file()
    assert (run_dir / "figures" / "learning_curves.png").is_file()
    gap = (
        metrics["test_accuracy.squeezenet1_1.test_acc"]
        - metrics["test_accuracy.custom_cnn.test_acc"]
    )
    assert abs(metrics["verdict.test_acc_gap"] - gap) < 1e-12
    assert metrics["verdict.held"] == (gap > 0)
