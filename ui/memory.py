"""Two malloc arenas for the long-running server instead of sixteen.

glibc gives a thread that allocates while the others' arenas are busy an
arena of its own, up to eight per core, and memory freed in an arena stays
with it.  Gradio runs every event on a pool of up to 40 worker threads, so
under concurrent load ``qa serve`` ends up with many arenas, each holding
what its threads freed: in ``make stress``'s 20 concurrent sessions the
server grew 100 MB (560 → 660 MB) with glibc's default and 15 MB with two
arenas, at the same latency.  ``mallopt(M_ARENA_MAX)`` is what the
``MALLOC_ARENA_MAX`` variable sets; it has to happen before the threads
start, and a value the user exported wins.  Elsewhere than glibc it does
nothing.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """True when glibc took the limit; False when the user set their own,
    or the C library is not glibc."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False
