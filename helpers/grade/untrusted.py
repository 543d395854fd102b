"""Handling what an untrusted, confined submission left behind or printed, without trusting any of it.

- ``remove_tree(path)``: delete a folder the submission could shape at will (1,500 levels deep, modes
  taken away, symbolic links to anywhere), iteratively: memory grows with the depth, the stack does
  not; links are removed, never followed; other file systems mounted below are left alone.
- ``read_regular_file(base, relative, max_bytes)``: the bytes of a result file, only if every folder
  on the way is a real folder and the file a regular file no larger than ``max_bytes``.
- ``excerpt(text, limit)``: a short, single-line, escaped excerpt of submission-produced text, the only
  form in which such text may reach a report.
- ``csv_cell(value)`` / ``csv_row(values)``: OWASP's CSV-injection rule, so no cell is a live formula.
- ``capped_zmq_context(...)`` and ``OutputBudget``: bounds on what a kernel can make the grader hold in
  memory: each message's size and the number queued (in zmq), and the bytes taken per cell.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "RejectedFile",
    "remove_tree",
    "read_regular_file",
    "excerpt",
    "csv_cell",
    "csv_row",
    "FORMULA_STARTS",
    "capped_zmq_context",
    "OutputBudget",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_MAX_QUEUED_MESSAGES",
]

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


# ---------------------------------------------------------------- removing a folder


def _open_directory(parent_fd: int, name: str) -> int:
    """Open the folder ``name`` in ``parent_fd`` (never through a link), giving its owner rwx back."""
    try:
        fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent_fd)
    except PermissionError:
        # Mode 000 set by the submission: change it through an O_PATH handle, which names this very
        # folder (the /proc magic link is not resolved again by name).
        handle = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)
        finally:
            os.close(handle)
        fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent_fd)
    if os.fstat(fd).st_mode & 0o700 != 0o700:
        os.fchmod(fd, 0o700)  # so its entries can be unlinked by a non-root owner
    return fd


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _clear_files(fd: int, device: int) -> list[str]:
    """Unlink every non-folder entry of the open folder ``fd``; return its sub-folders on ``device``."""
    folders = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.stat(follow_symlinks=False).st_dev == device:
                    folders.append(entry.name)  # a mount point below is left, and its parent with it
            else:
                os.unlink(entry.name, dir_fd=fd)
    return folders


def remove_tree(path: str | os.PathLike) -> None:
    """Delete ``path`` and all below it; no recursion, no link followed, no other file system entered.

    A missing path is not an error. Run it only once nothing can still write there (the submission's
    processes have ended): the walk re-checks each folder's identity when it climbs back, and raises
    ``OSError`` rather than remove anything outside ``path``.
    """
    path = Path(os.path.abspath(path))
    top_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            info = os.stat(path.name, dir_fd=top_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path.name, dir_fd=top_fd)
            return
        _remove_folder(top_fd, path.name, info.st_dev)
    finally:
        os.close(top_fd)


def _remove_folder(top_fd: int, name: str, device: int) -> None:
    fd = _open_directory(top_fd, name)
    stack = [(name, _identity(fd), _clear_files(fd, device))]  # one frame per level: names, no fds
    try:
        while stack:
            pending = stack[-1][2]
            if pending:
                child = pending.pop()
                child_fd = _open_directory(fd, child)
                os.close(fd)
                fd = child_fd
                stack.append((child, _identity(fd), _clear_files(fd, device)))
                continue
            done = stack.pop()[0]
            parent_fd = os.open("..", _DIRECTORY_FLAGS, dir_fd=fd) if stack else top_fd
            if stack and _identity(parent_fd) != stack[-1][1]:
                os.close(parent_fd)
                raise OSError(f"{name}: a folder moved while it was being removed; stopped there")
            os.close(fd)
            fd = parent_fd
            os.rmdir(done, dir_fd=fd)
    finally:
        if fd != top_fd:
            os.close(fd)


# ---------------------------------------------------------------- reading a result file


class RejectedFile(Exception):
    """A result file that is not read: a link, not a regular file, or too large; the message says which."""


def read_regular_file(base: str | os.PathLike, relative: str | os.PathLike, max_bytes: int) -> bytes:
    """The bytes of ``base/relative``, read only if it is a regular file of at most ``max_bytes``.

    ``base`` is the grader's own folder (trusted); every component of ``relative`` is opened with
    ``O_NOFOLLOW`` from the one before, so no link anywhere on the way is followed; the file is opened
    ``O_NONBLOCK`` (a FIFO cannot hang the reader) and checked with ``fstat`` after opening, and at
    most ``max_bytes + 1`` bytes are ever read (a file growing meanwhile is still refused).
    Raises ``RejectedFile``, or ``FileNotFoundError`` when it does not exist.
    """
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or any(part in ("..", ".") for part in parts):
        raise RejectedFile(f"{relative}: not a plain relative path inside {base}")
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        file_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        for index, part in enumerate(parts):
            next_fd = _open_component(
                fd, part, file_flags if index == len(parts) - 1 else _DIRECTORY_FLAGS, relative
            )
            os.close(fd)
            fd = next_fd
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RejectedFile(f"{relative}: not a regular file")
        if info.st_size > max_bytes:
            raise RejectedFile(f"{relative}: {info.st_size} bytes, more than the {max_bytes} allowed")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise RejectedFile(f"{relative}: grew past the {max_bytes} bytes allowed while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _open_component(fd: int, name: str, flags: int, relative) -> int:
    """Open ``name`` in the folder ``fd``; a link (ELOOP) or a non-folder on the way (ENOTDIR) is refused."""
    try:
        return os.open(name, flags, dir_fd=fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise RejectedFile(f"{relative}: {name} is a link or not a folder; not followed") from None
        raise


# ---------------------------------------------------------------- text that reaches a report

_TERMINAL_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_SPACES = re.compile(r"\s+")
DEFAULT_EXCERPT_CHARS = 160


def excerpt(text: object, limit: int = DEFAULT_EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``text`` on one line: terminal escape sequences removed, other
    control and format characters (bidi overrides, zero-width) shown escaped as ``\\uXXXX``, runs of
    white space made one space, and "…" where it was cut. Only this form of submission-produced text
    belongs in a report (and ``csv_cell`` still applies to it there)."""
    original = str(text)
    raw = _TERMINAL_SEQUENCE.sub("", original[: 8 * limit + 64])  # bounded work on a huge input
    shown = []
    for character in raw:
        category = unicodedata.category(character)
        if character.isspace():
            shown.append(" ")
        elif category[0] == "C":
            shown.append(f"\\u{ord(character):04x}")
        else:
            shown.append(character)
    single_line = _SPACES.sub(" ", "".join(shown)).strip()
    if len(single_line) <= limit and len(original) <= 8 * limit + 64:
        return single_line
    return single_line[: max(limit - 1, 0)].rstrip() + "…"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> object:
    """``value`` made safe for a spreadsheet (OWASP's CSV-injection rule): a text cell starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their full-width forms) gets a leading
    ``'``, so it is shown as text, never run as a formula. Numbers pass unchanged (the csv module
    quotes separators and quotes itself)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[object]) -> list[object]:
    """``csv_cell`` applied to every value of a row."""
    return [csv_cell(value) for value in values]


# ---------------------------------------------------------------- what a kernel may make the grader hold

DEFAULT_MAX_MESSAGE_BYTES = 1 << 20  # one message from the kernel; larger: its connection is dropped
DEFAULT_MAX_QUEUED_MESSAGES = 64  # per socket, received but not yet read; more are dropped by zmq


def capped_zmq_context(
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES
):
    """A new ``zmq.Context`` whose sockets refuse messages over ``max_message_bytes`` (zmq drops the
    sending peer's connection, so the bytes never reach Python) and queue at most
    ``max_queued_messages`` unread ones: what the kernel's messages can cost the grader is bounded by
    about their product. Give it to ``jupyter_client.KernelManager(context=...)`` and the client;
    the options apply to sockets created afterwards. The caller terminates it.

    A kernel that sends an oversized message loses that connection for good (zmq 4.3 does not
    reconnect after it): the channel goes silent, which the grader reports as the output cap, not
    as a time limit, by checking the socket's monitor for ``EVENT_DISCONNECTED``."""
    import zmq

    context = zmq.Context()
    context.setsockopt(zmq.MAXMSGSIZE, int(max_message_bytes))
    context.setsockopt(zmq.RCVHWM, int(max_queued_messages))
    context.setsockopt(zmq.LINGER, 0)
    return context


def _text_bytes(content: object) -> int:
    """Characters of text and bytes in a message's content (dicts and lists walked without recursion)."""
    total, stack = 0, [content]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


class OutputBudget:
    """What the kernel printed or displayed while one piece of code ran, up to ``max_bytes``.

    ``take(message)`` counts an iopub message's content (stream text, display data, error text) and
    returns False once the total is over the cap: the grader then stops the code (interrupt or kill)
    and reports ``note()``. ``head`` keeps the first ``keep_chars`` characters of printed text, for an
    ``excerpt`` if the grader wants one.
    """

    def __init__(self, max_bytes: int, keep_chars: int = 2 * DEFAULT_EXCERPT_CHARS):
        self.max_bytes, self.keep_chars = int(max_bytes), int(keep_chars)
        self.used = 0
        self.head = ""

    @property
    def exceeded(self) -> bool:
        return self.used > self.max_bytes

    def take(self, message: dict) -> bool:
        content = message.get("content", {}) if isinstance(message, dict) else {}
        self.used += _text_bytes(content)
        text = content.get("text") if isinstance(content, dict) else None
        if isinstance(text, str) and len(self.head) < self.keep_chars:
            self.head += text[: self.keep_chars - len(self.head)]
        return not self.exceeded

    def note(self) -> str:
        return (
            f"it printed more than {self.max_bytes} bytes (at least {self.used}); the output was cut "
            f"there and the code stopped"
        )
