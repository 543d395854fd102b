"""What a student notebook uses until an exercise is done: placeholders, a guard, short errors.

In a student notebook the exercise cell only defines the function or class; its check comes next; the
cells that use the result come after. The notebook generator starts each such "use" cell with::

    from helpers.placeholders import not_done, require_done
    preferred = not_done("preferred_orientation", "preferred")
    require_done("preferred_orientation", preferred_orientation)

so that, until the exercise is done, the cell stops at its top (before any training) and the names it
would assign stay placeholders. A later cell that uses a placeholder fails with a message that points
back at the exercise instead of a ``NameError`` or a shape error somewhere inside a helper.

Every use of a placeholder raises ``NotImplementedError``: attribute access, calls, indexing, iteration,
``len``, ``bool``, comparisons, arithmetic, ``str``/``format``, hashing, copying and pickling,
conversion to a number, and conversion by numpy (``__array__``, ufuncs, array functions) or torch
(``__torch_function__``). Only ``repr`` answers, so that the notebook can still show what it is.

The errors raised here are plain ``NotImplementedError`` that IPython shows as two lines (the cell's
line that failed, then the message naming the exercise) instead of a traceback through the helpers.
"""

from __future__ import annotations

import functools
import linecache
import types

__all__ = ["not_done", "require_done", "is_stub", "is_placeholder"]

_MESSAGE = (
    "`{name}` comes from Exercise '{exercise}', which is not done yet: "
    "complete it above, then run this cell again."
)
_GUARD_MESSAGE = (
    "Exercise '{exercise}' is not done yet: complete `{object_name}` in its exercise cell above, "
    "run that cell and its check, then run this cell again."
)
_RED, _RESET = "\x1b[0;31m", "\x1b[0m"


def _short_error(message: str) -> NotImplementedError:
    """A NotImplementedError that IPython renders as its cell line and ``message``."""
    error = NotImplementedError(message)
    error._render_traceback_ = functools.partial(_render_traceback, error)
    return error


def _render_traceback(error: BaseException) -> list[str]:
    """IPython's lines for `error`: where in the notebook cell it was raised, then the message."""
    lines = []
    frame = _cell_frame(error.__traceback__)
    if frame is not None:
        code = linecache.getline(frame.tb_frame.f_code.co_filename, frame.tb_lineno).strip()
        lines.append(f"---> line {frame.tb_lineno} of this cell: {code}" if code else "")
    lines.append(f"{_RED}NotImplementedError{_RESET}: {error}")
    return [line for line in lines if line]


def _cell_frame(traceback):
    """The traceback entry of the notebook cell itself: the outermost module-level code (`<module>`)."""
    while traceback is not None:
        if traceback.tb_frame.f_code.co_name == "<module>":
            return traceback
        traceback = traceback.tb_next
    return None


class _NotDone:
    """Stands in for ``name``, the result of ``exercise``, until that exercise is done."""

    __slots__ = ("_exercise", "_name")

    def __init__(self, exercise, name):
        object.__setattr__(self, "_exercise", exercise)
        object.__setattr__(self, "_name", name)

    def _fail(self, *args, **kwargs):
        raise _short_error(_MESSAGE.format(name=self._name, exercise=self._exercise))

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
        raise _short_error(
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


def _code_objects(obj):
    """The code objects of a function, or of every function defined in a class body (nested ones too)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        for accessor in (obj.fget, obj.fset, obj.fdel):
            yield from _code_objects(accessor)
    elif isinstance(obj, type):
        for member in vars(obj).values():
            yield from _code_objects(member)
    elif isinstance(obj, functools.partial):
        yield from _code_objects(obj.func)
    elif isinstance(obj, (types.FunctionType, types.MethodType)):
        pending = [getattr(obj, "__func__", obj).__code__]
        while pending:
            code = pending.pop()
            yield code
            pending += [const for const in code.co_consts if isinstance(const, types.CodeType)]


def is_stub(exercise: str, obj) -> bool:
    """Whether `obj` (a function or class) still holds a stub's ``raise`` for `exercise`.

    The stubs of a student notebook raise ``NotImplementedError("Exercise '<exercise>': ...")``; that
    message is a constant of the function's code until the student replaces the ``raise``.
    """
    prefix = f"Exercise '{exercise}':"
    if isinstance(obj, _NotDone):
        return True
    for code in _code_objects(obj):
        if any(isinstance(const, str) and const.startswith(prefix) for const in code.co_consts):
            return True
    return False


def require_done(exercise, *objects) -> None:
    """Raise a short ``NotImplementedError`` naming `exercise` while one of `objects` is still its stub.

    Args:
        exercise: the exercise's stable name, e.g. ``"preferred_orientation"``.
        objects: what the exercise cell defines (its functions or classes), e.g. ``preferred_orientation``.
    """
    if not isinstance(exercise, str):
        raise TypeError(
            f"require_done(exercise, *objects) takes the exercise's stable name first, got {exercise!r}."
        )
    for obj in objects:
        if is_stub(exercise, obj):
            object_name = obj._name if isinstance(obj, _NotDone) else getattr(obj, "__name__", "it")
            raise _short_error(_GUARD_MESSAGE.format(exercise=exercise, object_name=object_name))
