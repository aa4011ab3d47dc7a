"""The `inline_static_if` fix-up pass on hand-made ``If`` graphs, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.errors import DeepDreamError
from deepdreamport.onnx import passes as fx
from deepdreamport.onnx.convert import prepare

from .graphs import X, make, run_both

node = helper.make_node


def _branch(name, nodes, output, initializers=()):
    return helper.make_graph(
        nodes,
        name,
        [],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in dict(initializers).items()],
    )


def _rank_test(rank):
    """``cond = (rank of x == rank)``: ``Size(Shape(x))``, what the TorchScript exporter writes for ``x.dim()``."""
    return [
        node("Shape", ["x"], ["shape"]),
        node("Size", ["shape"], ["rank"]),
        node("Constant", [], ["expected"], value=numpy_helper.from_array(np.array(rank, np.int64))),
        node("Equal", ["rank", "expected"], ["cond"]),
    ]


THEN = _branch(
    "then",
    [
        node("Constant", [], ["c"], value=numpy_helper.from_array(np.array(2.5, np.float32))),
        node("Mul", ["x", "c"], ["t"]),
        node("Add", ["t", "bias"], ["u"]),
    ],
    "u",
    {"bias": np.float32(-0.25)},
)
ELSE = _branch("else", [node("Neg", ["x"], ["n"])], "n")


@pytest.mark.parametrize("rank, taken", [(4, "then"), (3, "else")])
def test_a_rank_test_takes_its_branch_and_matches_onnxruntime(rank, taken):
    """Two ``If`` nodes with the same branches (the same inner names): each inlined copy gets names of its own."""
    nodes = [
        node("Relu", ["x"], ["r"]),
        *_rank_test(rank),
        node("If", ["cond"], ["chosen"], name="rank_if", then_branch=THEN, else_branch=ELSE),
        node("If", ["cond"], ["again"], name="rank_if_2", then_branch=THEN, else_branch=ELSE),
        node("Add", ["chosen", "r"], ["sum"]),
        node("Add", ["sum", "again"], ["y"]),
    ]
    model = make(nodes)
    fixed = fx.inline_static_if(model)
    ops = [n.op_type for n in fixed.graph.node]
    assert "If" not in ops and "Shape" not in ops and "Equal" not in ops
    assert ops == ["Relu", *(["Mul", "Add"] * 2 if taken == "then" else ["Neg"] * 2), "Add", "Add"]
    outputs = [o for n in fixed.graph.node for o in n.output]
    assert len(outputs) == len(set(outputs))
    assert {n.name.split("/")[0] for n in fixed.graph.node if n.op_type in ("Mul", "Neg")} == {"rank_if", "rank_if_2"}
    out, ref = run_both(model, X)
    assert np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max()


def test_a_nested_if_a_constant_condition_and_a_branch_returning_its_initializer():
    """The outer ``If`` reads a constant condition; its then-branch holds a rank test ``If`` whose then-branch
    returns a branch initializer (an ``Identity`` maps it to the ``If``'s output)."""
    constant = _branch("constant", [], "k", {"k": np.full((1, 2, 1, 1), 0.75, np.float32)})
    inner = node("If", ["cond"], ["inner_out"], name="inner", then_branch=constant, else_branch=ELSE)
    outer_then = _branch(
        "outer_then",
        [*_rank_test(4), inner, node("Mul", ["inner_out", "x"], ["m"]), node("Sigmoid", ["m"], ["s"])],
        "s",
    )
    nodes = [node("If", ["always"], ["y"], name="outer", then_branch=outer_then, else_branch=ELSE)]
    model = make(nodes, inits={"always": np.array(True)})
    fixed = fx.inline_static_if(model)
    assert [n.op_type for n in fixed.graph.node] == ["Mul", "Sigmoid"]  # Identity(k) folded to an initializer
    out, ref = run_both(model, X)
    assert np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max()


@pytest.mark.parametrize(
    "test",
    [
        pytest.param(
            [node("ReduceSum", ["x"], ["sum"], keepdims=0), node("Greater", ["sum", "zero"], ["cond"])], id="data"
        ),
        pytest.param(
            [
                node("Shape", ["x"], ["shape"]),
                node("Gather", ["shape", "two"], ["h"]),
                node("Greater", ["h", "five"], ["cond"]),
            ],
            id="image-height",
        ),
        pytest.param(
            [
                node("Shape", ["x"], ["shape"]),
                node("Gather", ["shape", "zero_index"], ["n"]),
                node("Equal", ["n", "one"], ["cond"]),
            ],
            id="batch-size",
        ),
    ],
)
def test_a_condition_on_data_or_on_the_free_sizes_stays_and_is_refused_naming_the_node(test):
    """The image's batch and spatial sizes vary when the port runs a network: a test on them is not decided."""
    inits = {
        "zero": np.float32(0),
        "two": np.array(2, np.int64),
        "five": np.array(5, np.int64),
        "zero_index": np.array(0, np.int64),
        "one": np.array(1, np.int64),
    }
    model = make([*test, node("If", ["cond"], ["y"], name="size_if", then_branch=THEN, else_branch=ELSE)], inits)
    assert [n.op_type for n in fx.inline_static_if(model).graph.node][-1] == "If"
    with pytest.raises(DeepDreamError) as info:
        prepare(model)
    assert "\n" not in info.value.message and "If (nodes size_if)" in info.value.message
