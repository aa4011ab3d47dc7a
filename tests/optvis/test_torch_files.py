"""Networks saved by torch (torch.export .pt2, TorchScript): layers by module path, the module's numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from deepdreamport.optvis import render
from deepdreamport.optvis._network import DeepDreamError
from deepdreamport.optvis.network import as_network


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3))
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(6, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch_files")
    module = Net().eval()
    torch.export.save(torch.export.export(module, (torch.zeros(1, 3, 16, 16),)), folder / "net.pt2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(module), folder / "net.pt")
    return module, folder


@pytest.mark.parametrize("name", ["net.pt2", "net.pt"])
def test_saved_networks_render_as_the_module_does(saved, name):
    module, folder = saved
    network = as_network(folder / name)
    assert {"features.0", "features.2", "fc", "conv2d_1", "relu"} <= set(network.layer_names())
    assert network.input_channels == 3 and "ImageNet" in network.input_range_source
    options = dict(size=20, steps=2, transforms="none", batch=2, device="cpu")  # not the exported 1×16×16
    from_file = render(network, "features.2:3", **options)
    from_module = render(module, "features.2:3", **options)
    assert np.array_equal(from_file.images, from_module.images)
    assert np.array_equal(from_file.losses, from_module.losses)


def test_files_that_hold_no_network_are_one_line(tmp_path):
    torch.save(Net().state_dict(), tmp_path / "weights.pt")
    (tmp_path / "text.pt2").write_text("not a zip")
    for name, message in (("weights.pt", "a state_dict holds no network"), ("text.pt2", "not a zip archive")):
        with pytest.raises(DeepDreamError, match=f"MODEL: .*{message}"):
            as_network(tmp_path / name)
