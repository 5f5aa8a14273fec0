"""Two malloc arenas for the long-running server instead of sixteen, and
the heap's free pages given back after each answer.

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

An answer allocates tens of megabytes of short-lived buffers (the two ONNX
sessions' activations, Chroma's results) and frees them; glibc keeps the
freed pages, so the server's RSS sat at the high-water mark of whichever
answers came before.  ``malloc_trim`` after each answer hands them back
(RSS still steps by about 10 MB now and then; ``evals.stress`` measures
growth from the warm-up's high-water mark for that reason): on the seed,
in one process answering the 78 dev questions three times, RSS 325 -> 262
MB, for about 1.5 ms of trimming and a few ms more per answer as the pages
fault back in (p50 113 -> 120 ms).
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


def release() -> bool:
    """Give the heap's free pages back to the system; False where the C
    library is not glibc (nothing is done)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim(0)
    return True
