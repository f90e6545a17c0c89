"""Writing output files (traces, plots) whole or not at all.

A file is first written under a new name beside its destination, with the
permissions the umask gives, then renamed over it: a run that fails or is
interrupted while writing leaves neither a half-written file nor a stray one.
"""
from __future__ import annotations

import os
import uuid


def check_writable(path, what="the file") -> str:
    """``path`` as a string if a file can be written there; ValueError naming it
    (and ``what`` was to be written) if not."""
    path = os.fspath(path)
    if not path:
        raise ValueError(f"cannot write {what} to '': give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write {what} to {path!r}: "
                         + ("it is a directory" if os.path.isdir(path) else
                            "its folder does not exist" if not os.path.isdir(folder) else
                            "its folder is not writable"))
    return path


def write_whole(path, write, binary=False) -> str:
    """Call ``write(f)`` on a new file beside ``path``, then rename it to ``path``.
    On any error the new file is removed and the error raised; returns ``path``."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".asynclab-{uuid.uuid4().hex}")
    try:
        with open(tmp, "xb" if binary else "x", **({} if binary else {"encoding": "utf-8"})) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
