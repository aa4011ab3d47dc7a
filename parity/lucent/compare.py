"""Print the port's largest relative differences from every lucent reference case.

``PYTHONPATH=. .venv/bin/python parity/lucent/compare.py [rule|contiguous|channels_last]``
(lucent not needed): first-step gradients (parameter and 0–1 image) and the 8-step
images and losses, each ``max |port - lucent| / max |lucent|``, with the network run
in the layout rule's choice (the default; the ``layout`` column), lucent's default
layout, or ``channels_last``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deepdreamport.optvis.network import OptvisNetwork  # noqa: E402
from deepdreamport.optvis.rendering import prepare, render  # noqa: E402
from tests.optvis.conftest import relative_error  # noqa: E402
from tests.optvis.test_lucent_parity import CASES, _load, _options  # noqa: E402

LAYOUTS = {"rule": None, "contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def _layout_used(network: OptvisNetwork) -> str:
    """The layout of the network's latest forward."""
    return "channels_last" if network.last_memory_format is torch.channels_last else "contiguous"


def main(argv=None) -> None:
    layout = (argv or ["rule"])[0]
    if layout not in LAYOUTS:
        raise SystemExit(f"layout: expected one of {', '.join(LAYOUTS)}; got {layout!r}")
    print(
        f"{'case':56s} {'dtype':7s} {'layout':13s} {'grad param':>10s} {'grad image':>10s} {'images':>9s} {'losses':>9s}"
    )
    for path in CASES:
        provenance, arrays = _load(path)
        options = _options(provenance, arrays, LAYOUTS[layout])
        net, objective, thresholds = options.pop("net"), options.pop("objective"), options.pop("thresholds")
        session = prepare(net, objective, **options)
        session.closure()
        grad_param = relative_error(session.image.parameters[0].grad.numpy(), arrays["grad_param"])
        grad_image = relative_error(session.last_image.grad.numpy().transpose(0, 2, 3, 1), arrays["grad_image"])
        result = render(net, objective, thresholds=thresholds, **options)
        print(
            f"{path.stem:56s} {provenance['recipe']['dtype']:7s} {_layout_used(net):13s} {grad_param:10.1e} {grad_image:10.1e} "
            f"{relative_error(result.images, arrays['images']):9.1e} {relative_error(result.losses, arrays['losses']):9.1e}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
