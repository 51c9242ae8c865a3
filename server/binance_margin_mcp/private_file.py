"""Read a small private file safely: a regular file of this user, closed to group and others, never blocking.

Shared by add_account (credentials and PEM files) and TOTP (the secret file). The reason for a refusal
is for the operator's log only: tool results say one thing for every refusal, so an agent cannot use
them to learn whether some other path exists.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)  # a symlink is refused, not followed
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once (and fstat then refuses it) instead of blocking
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class Refused(Exception):
    """Why a file was not read: a short reason with no path and no content."""


def read_private(path: str | Path, limit: int) -> bytes:
    """The whole content (at most `limit` bytes) of a regular file owned by this user with mode 0?00.

    Raises Refused for a missing or unreadable path, a symlink, a FIFO, a device, a directory, a file of
    another user, one that group or others may read, or one longer than `limit`.
    """
    try:
        fd = os.open(path, _FLAGS)
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        raise Refused(_reason(exc)) from None
    try:
        info = os.fstat(fd)  # the opened file itself: nothing can be swapped in between check and read
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not a regular file")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise Refused("owned by another user")
        if info.st_mode & 0o077:
            raise Refused(f"group or others may access it (mode {stat.S_IMODE(info.st_mode):o}; chmod 600)")
        data = _read_up_to(fd, limit + 1)
    except OSError as exc:
        raise Refused(_reason(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Refused(f"longer than {limit} bytes")
    return data


def expand(path: str | Path) -> Path | None:
    """`~` expanded; None when it names a home directory that does not exist."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return None


def _read_up_to(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"cannot be opened ({exc.strerror or type(exc).__name__})"
    return "not a usable path"
