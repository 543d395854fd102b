"""helpers.placeholders.not_done: every use of a placeholder raises NotImplementedError naming it."""

import copy
import operator
import pickle

import numpy as np
import pytest
import torch

from helpers.placeholders import not_done

MESSAGE = (
    "`preferred` comes from Exercise 'preferred_orientation', which is not done yet: "
    "complete it above, then run this cell again."
)


def _setattr(p):
    p.weight = 1


def _setitem(p):
    p[0] = 1


def _iadd(p):
    p += 1


def _with(p):
    with p:
        pass


USES = {
    "attribute": lambda p: p.shape,
    "method call": lambda p: p.mean(),
    "setattr": _setattr,
    "call": lambda p: p(1),
    "indexing": lambda p: p[0],
    "slicing": lambda p: p[:, 1],
    "setitem": _setitem,
    "iteration": lambda p: list(p),
    "unpacking": lambda p: [a for a, b in [p]],
    "in": lambda p: 3 in p,
    "len": len,
    "bool": bool,
    "if": lambda p: 1 if p else 0,
    "str": str,
    "f-string": lambda p: f"{p:.2f}",
    "print": print,
    "hash": hash,
    "==": lambda p: p == 0,
    "<": lambda p: p < 0,
    "int": int,
    "float": float,
    "range": range,
    "round": round,
    "+": lambda p: p + 1,
    "radd": lambda p: 1 + p,
    "*": lambda p: 2 * p,
    "@": lambda p: np.eye(2) @ p,
    "/": lambda p: p / 2,
    "**": lambda p: p**2,
    "neg": operator.neg,
    "abs": abs,
    "+=": _iadd,
    "with": _with,
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": pickle.dumps,
    "max": lambda p: max(p, 1),
    "sorted": lambda p: sorted([p, p]),
    "np.asarray": np.asarray,
    "np.array": np.array,
    "array + p": lambda p: np.ones(3) + p,
    "np.mean": np.mean,
    "np.concatenate": lambda p: np.concatenate([p, np.ones(2)]),
    "np.argmax": np.argmax,
    "torch.as_tensor": torch.as_tensor,
    "torch.tensor": torch.tensor,
    "tensor + p": lambda p: torch.ones(2) + p,
    "torch.cat": lambda p: torch.cat([torch.ones(2), p]),
    "nn.Linear(p, 3)": lambda p: torch.nn.Linear(p, 3),
    "module(p)": lambda p: torch.nn.Linear(2, 3)(p),
    "loss(p, target)": lambda p: torch.nn.NLLLoss()(p, torch.zeros(2, dtype=torch.long)),
}


@pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
def test_every_use_raises_not_implemented_naming_the_exercise(use):
    placeholder = not_done("preferred_orientation", "preferred")
    with pytest.raises(NotImplementedError) as caught:
        use(placeholder)
    assert str(caught.value) == MESSAGE


def test_repr_stays_informative_so_a_notebook_can_display_it():
    text = repr(not_done("classifier", "net"))
    assert "net" in text and "classifier" in text


def test_placeholders_are_independent():
    a, b = not_done("classifier", "net"), not_done("regularized_loss", "loss")
    with pytest.raises(NotImplementedError, match="`net` comes from Exercise 'classifier'"):
        a.parameters()
    with pytest.raises(NotImplementedError, match="`loss` comes from Exercise 'regularized_loss'"):
        b.backward()


def test_a_torch_call_names_the_placeholder_argument_it_got():
    net = not_done("classifier", "net")
    with pytest.raises(NotImplementedError, match="`net` comes from Exercise 'classifier'"):
        torch.stack([torch.ones(2), net])


@pytest.mark.parametrize("args", [(1, "x"), ("x", None)])
def test_not_done_refuses_names_that_are_not_strings(args):
    with pytest.raises(TypeError, match="two strings"):
        not_done(*args)


# ---------------------------------------------------------------- require_done and the short traceback

from helpers.placeholders import is_stub, require_done  # noqa: E402


def _stub(x):
    raise NotImplementedError("Exercise 'double': return twice x")


def _done(x):
    return 2 * x


class _StubModel:
    def __init__(self):
        self.size = 3

    def forward(self, x):
        def inner():
            raise NotImplementedError("Exercise 'model': flatten x")

        return inner()


class _DoneModel:
    def forward(self, x):
        return x


def test_is_stub_finds_the_raise_in_functions_methods_and_nested_functions():
    assert is_stub("double", _stub) and not is_stub("double", _done)
    assert is_stub("model", _StubModel) and not is_stub("model", _DoneModel)
    # Another exercise's stub is not this one's.
    assert not is_stub("other", _stub)
    assert is_stub("double", not_done("double", "f"))


def test_require_done_stops_with_a_message_naming_the_exercise_and_what_to_complete():
    require_done("double", _done)
    require_done("model", _DoneModel, _done)
    with pytest.raises(NotImplementedError) as caught:
        require_done("model", _done, _StubModel)
    assert str(caught.value) == (
        "Exercise 'model' is not done yet: complete `_StubModel` in its exercise cell above, "
        "run that cell and its check, then run this cell again."
    )
    with pytest.raises(TypeError, match="stable name first"):
        require_done(_stub)


def test_ipython_shows_two_lines_the_cell_line_and_the_message():
    cell = "x = 1\ny = not_done('preferred_orientation', 'preferred') + x\n"
    code = compile(cell, "<cell>", "exec")
    import linecache

    linecache.cache["<cell>"] = (len(cell), None, cell.splitlines(True), "<cell>")
    try:
        exec(code, {"not_done": not_done})
    except NotImplementedError as error:
        shown = error._render_traceback_()
    assert len(shown) == 2
    assert shown[0] == "---> line 2 of this cell: y = not_done('preferred_orientation', 'preferred') + x"
    assert shown[1].endswith(f"NotImplementedError\x1b[0m: {MESSAGE}")
