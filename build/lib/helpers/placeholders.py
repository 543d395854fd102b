"""Placeholders for the results of exercises a student has not done yet.

In a student notebook, every name an exercise cell assigns at module level (say ``preferred =
preferred_orientation(resp, stimuli)``) is first bound, at the top of that cell, to
``not_done("preferred_orientation", "preferred")``. Until the exercise is completed, the function
raises ``NotImplementedError`` before the assignment happens, so ``preferred`` stays a placeholder,
and a later cell that uses it fails with a message that points back at the exercise instead of a
``NameError`` or a shape error somewhere inside a helper.

Every use of a placeholder raises that ``NotImplementedError``: attribute access, calls, indexing,
iteration, ``len``, ``bool``, comparisons, arithmetic, ``str``/``format``, hashing, copying and
pickling, conversion to a number, and conversion by numpy (``__array__``, ufuncs, array functions) or
torch (``__torch_function__``). Only ``repr`` answers, so that the notebook can still show what the
object is.
"""

__all__ = ["not_done", "is_placeholder"]

_MESSAGE = (
    "`{name}` comes from Exercise '{exercise}', which is not done yet: "
    "complete it above, then run this cell again."
)


class _NotDone:
    """Stands in for ``name``, the result of ``exercise``, until that exercise is done."""

    __slots__ = ("_exercise", "_name")

    def __init__(self, exercise, name):
        object.__setattr__(self, "_exercise", exercise)
        object.__setattr__(self, "_name", name)

    def _fail(self, *args, **kwargs):
        raise NotImplementedError(_MESSAGE.format(name=self._name, exercise=self._exercise))

    def __repr__(self):
        return f"<not done yet: `{self._name}` from Exercise '{self._exercise}'>"

    def __getattr__(self, attribute):
        # Only called for attributes the placeholder does not have, i.e. any the user asks for.
        self._fail()

    # torch calls this (on the type) for any torch function that gets a placeholder argument.
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        for value in (*args, *(kwargs or {}).values()):
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, _NotDone):
                    item._fail()
        raise NotImplementedError(
            "An exercise's result is used before the exercise is done: complete it, then run this cell again."
        )


# Every other special method the interpreter, numpy or torch may call means the placeholder is being used.
_USES = """
    setattr delattr call getitem setitem delitem len iter next reversed contains bool
    str bytes format hash eq ne lt le gt ge int float complex index round trunc floor ceil
    neg pos abs invert enter exit aenter aexit await aiter anext fspath
    array array_ufunc array_function dlpack dlpack_device reduce reduce_ex getstate copy deepcopy
    add sub mul matmul truediv floordiv mod divmod pow lshift rshift and xor or
    radd rsub rmul rmatmul rtruediv rfloordiv rmod rdivmod rpow rlshift rrshift rand rxor ror
    iadd isub imul imatmul itruediv ifloordiv imod ipow ilshift irshift iand ixor ior
""".split()
for _use in _USES:
    setattr(_NotDone, f"__{_use}__", _NotDone._fail)
del _use


def not_done(exercise, name):
    """Return a placeholder for ``name`` that raises ``NotImplementedError`` naming ``exercise`` when used.

    Args:
        exercise: the exercise's stable name, e.g. ``"preferred_orientation"``.
        name: the variable the placeholder stands in for, e.g. ``"preferred"``.
    """
    if not isinstance(exercise, str) or not isinstance(name, str):
        raise TypeError(
            f"not_done(exercise, name) takes two strings, got {exercise!r} and {name!r}: "
            "pass the exercise's stable name and the variable's name."
        )
    return _NotDone(exercise, name)


def is_placeholder(obj) -> bool:
    """Whether ``obj`` is a placeholder made by :func:`not_done` (asking it is not a use: never raises)."""
    return isinstance(obj, _NotDone)
