"""Shared memory for the process backend: one segment, several numpy arrays.

The parent creates one ``multiprocessing.shared_memory`` segment per run and
every worker process attaches to it by name; the arrays in it are numpy views,
so a write by one process is seen by all the others without copying. The
segment is named ``asynclab_<pid>_<random>`` so that a leak would be easy to
spot in ``/dev/shm``, and the parent unlinks it in a ``finally`` block.

Two pitfalls are handled here:

* A small ``/dev/shm`` (64 MB in many containers) does not fail when the
  segment is created: a later write past the free space kills the process with
  a bus error. So the free space is checked first, and on Linux the pages are
  reserved with ``posix_fallocate``, which fails cleanly instead.
* Workers attach with the parent's resource tracker (spawned children share
  it). They must not unregister the segment: that registration is what removes
  it if the parent itself is killed.
"""
from __future__ import annotations

import os
import secrets
from multiprocessing import shared_memory

import numpy as np

PREFIX = "asynclab"
SHM_DIR = "/dev/shm"   # where Linux keeps POSIX shared memory (macOS and Windows have none)


class NotEnoughSharedMemory(MemoryError):
    """/dev/shm has too little free space for the run's shared arrays."""


def free_bytes():
    """Free bytes in /dev/shm, or None where shared memory is not a filesystem."""
    if not os.path.isdir(SHM_DIR):
        return None
    st = os.statvfs(SHM_DIR)
    return st.f_bavail * st.f_frsize


def _too_small(needed, free):
    mb = 1024 * 1024
    return NotEnoughSharedMemory(
        f"the process backend needs {needed / mb:.1f} MB of shared memory but {SHM_DIR} has "
        f"only {free / mb:.1f} MB free; use a smaller problem, the thread backend, or give "
        f"the container more (docker run --shm-size=1g)")


class SharedArrays:
    """Named arrays in one shared-memory segment.

    ``layout`` is a tuple of ``(name, dtype, shape)``; the same layout gives
    the same views in every process. Use :meth:`create` in the parent and
    :meth:`attach` in a worker.
    """

    def __init__(self, shm, layout, owner):
        self._shm, self.layout, self.owner = shm, layout, owner
        self.arrays = {}
        offset = 0
        for name, dtype, shape in layout:
            # frombuffer keeps a buffer export, so the segment cannot be unmapped
            # under a live view (np.ndarray(buffer=...) would leave it dangling).
            count = int(np.prod(shape))
            view = np.frombuffer(shm.buf, dtype, count, offset).reshape(shape)
            self.arrays[name] = view
            offset += view.nbytes

    @property
    def name(self):
        return self._shm.name

    @staticmethod
    def nbytes(layout):
        return sum(np.dtype(dtype).itemsize * int(np.prod(shape)) for _, dtype, shape in layout)

    @classmethod
    def create(cls, layout):
        """A new zero-filled segment; raises NotEnoughSharedMemory before any write."""
        size = max(1, cls.nbytes(layout))
        free = free_bytes()
        if free is not None and size > free:
            raise _too_small(size, free)
        name = f"{PREFIX}_{os.getpid()}_{secrets.token_hex(4)}"
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        try:
            fd = getattr(shm, "_fd", -1)   # SharedMemory does not expose its descriptor
            if fd >= 0 and hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, size)
        except OSError:
            shm.close()
            shm.unlink()
            raise _too_small(size, free_bytes() or 0) from None
        return cls(shm, layout, owner=True)

    @classmethod
    def attach(cls, name, layout):
        return cls(shared_memory.SharedMemory(name=name), layout, owner=False)

    def close(self):
        """Drop this process's views; the owner also removes the segment."""
        self.arrays.clear()
        try:
            self._shm.close()
        except BufferError:
            # A view is still referenced (say, by an exception's traceback): leave
            # the mapping to that view, which unmaps it when it goes, and close
            # the rest (SharedMemory keeps both in private attributes).
            self._shm._buf = self._shm._mmap = None
            self._shm.close()
        if self.owner:
            self.owner = False
            self._shm.unlink()


def leaked_segments(pid=None):
    """Names of asynclab segments in /dev/shm (of process ``pid``, if given)."""
    if not os.path.isdir(SHM_DIR):
        return []
    prefix = PREFIX + "_" + (f"{pid}_" if pid is not None else "")
    return sorted(f for f in os.listdir(SHM_DIR) if f.startswith(prefix))
