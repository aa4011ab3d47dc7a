"""The objective language of ``deepdream render --objective``: values against the Python API, 1-based
indices, layer names with operators in them, and one-line errors naming the column."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.optvis import objectives as o
from deepdreamport.optvis._network import DeepDreamError
from deepdreamport.optvis.objective_language import parse_objectives

ACTS = {
    "relu2": torch.rand(3, 6, 5, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
    "_blocks/10/Add": torch.rand(3, 4, 3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) - 0.5,
    "input": torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64),
}
NAMES = ["relu1", "relu2", "_blocks/1", "_blocks/10/Add"]
VECTOR = np.array([1.0, -2.0, 0.5, 3.0, 0.0, 1.0])


def _value(objective) -> float:
    return float(objective(ACTS.__getitem__))


def _parse(text, **kwargs):
    return parse_objectives(text, NAMES, lambda layer: ACTS[layer].shape[1], lambda path: VECTOR, **kwargs)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("relu2:3", o.channel("relu2", 2)),
        ("0.5*relu2:3 - 1e2*diversity(relu2)", 0.5 * o.channel("relu2", 2) - 1e2 * o.diversity("relu2")),
        ("-(relu2:1 + relu2:2) / 2", -(o.channel("relu2", 0) + o.channel("relu2", 1)) / 2),
        ("_blocks/10/Add:4/2", o.channel("_blocks/10/Add", 3) / 2),  # '/' in the name, then a division
        ("neuron(relu2:2, 1, 4)", o.neuron("relu2", 1, x=0, y=3)),
        ("direction(relu2, d.npy)", o.direction("relu2", VECTOR)),
        ("direction_neuron(relu2, 'my d.npy', 2, 2)", o.direction_neuron("relu2", VECTOR, x=1, y=1)),
        ("channel_weight(relu2, w.npy)", o.channel_weight("relu2", VECTOR)),
        ("neuron_weight(relu2, w.npy)", o.neuron_weight("relu2", VECTOR)),
        ("localgroup_weight(relu2, w.npy, 1, 2, 3, 2)", o.localgroup_weight("relu2", VECTOR, x=0, y=1, wx=3, wy=2)),
        ("channel_interpolate(relu2:1, _blocks/10/Add:2)", o.channel_interpolate("relu2", 0, "_blocks/10/Add", 1)),
        ("alignment(relu2, 3)", o.alignment("relu2", 3)),
        (
            "'relu2':6 + 0.01*total_variation() + L1(relu2)",
            o.channel("relu2", 5) + 0.01 * o.total_variation() + o.L1("relu2"),
        ),
        ("deepdream(relu2:1) + L2() - blur()", o.deepdream("relu2", 0) + o.L2() - o.blur()),
    ],
)
def test_text_means_what_the_python_api_means(text, expected):
    (parsed,) = _parse(text)
    assert parsed.text == text.strip()
    assert _value(parsed.objective) == pytest.approx(_value(expected), rel=1e-12)
    assert parsed.objective.declared


def test_commas_give_one_objective_per_image():
    parsed = _parse(" relu2:1 ,neuron(relu2:2), _blocks/10/Add:1")
    assert [p.text for p in parsed] == ["relu2:1", "neuron(relu2:2)", "_blocks/10/Add:1"]
    assert [p.objective.layers for p in parsed] == [("relu2",), ("relu2",), ("_blocks/10/Add",)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("relu2:0", "at column 7: expected a channel counted from 1 on the command line (got 0)"),
        ("relu2:7", "at column 7: channel 7 of 'relu2' is out of range; it has channels 1..6"),
        ("relu9:1", "expected a unit LAYER:CHANNEL with a layer of the network (nearest: relu2, relu1"),
        ("diversty(relu2)", "expected an objective's name (nearest: diversity"),
        ("relu2:3 +", "at column 10: expected a unit LAYER:CHANNEL, a number"),
        ("3 * 2", "expected an objective (a unit LAYER:CHANNEL or a call), not only numbers"),
        ("relu2:1 relu2:2", "at column 9: expected an operator (+ - * /), ',' or the end"),
        ("direction(relu2, d.txt)", "expected a .npy file"),
        ("diversity(relu3)", "expected a layer name of the network (nearest: relu2"),
        ("(relu2:1", "expected ')'; found the end"),
        ("relu2:1 / 0", "expected a divisor other than 0"),
        ("neuron(relu2:1, 2)", "expected ',' and y"),
        ("", "expected an objective"),
        ("__import__('os')", "expected an objective's name"),
    ],
)
def test_bad_text_is_one_line_with_the_column(text, message):
    with pytest.raises(DeepDreamError, match=r"^--objective: ") as raised:
        _parse(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_vector_files_are_read_without_pickles(tmp_path):
    np.save(tmp_path / "d.npy", VECTOR)
    (parsed,) = parse_objectives(f"direction(relu2, {tmp_path / 'd.npy'})", NAMES)
    assert _value(parsed.objective) == pytest.approx(_value(o.direction("relu2", VECTOR)))
    np.save(tmp_path / "bad.npy", np.zeros((2, 3)))
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object))
    for name, message in (("bad.npy", "must hold a vector"), ("pickled.npy", "cannot read"), ("no.npy", "cannot read")):
        with pytest.raises(DeepDreamError, match=message):
            parse_objectives(f"direction(relu2, {tmp_path / name})", NAMES)
