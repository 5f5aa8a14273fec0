"""Keep every library we use from reaching for the network.

groundqa runs where only package registries are reachable, and a user's first
run must not depend on downloads either.  Each entry point calls
:func:`enforce` before importing the library that would phone home, so the
guarantee does not depend on how the process was started (Makefile, CLI,
tests or ``import qa``).
"""

from __future__ import annotations

import os
from pathlib import Path

_FLAGS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
}


def static_dir() -> Path:
    """llama-index-core ships tiktoken encodings and NLTK punkt data here."""
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "_static"


def enforce() -> None:
    """Set the offline switches (without overriding a user's explicit choice)."""
    for key, value in _FLAGS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(static_dir() / "tiktoken_cache"))
    os.environ.setdefault("NLTK_DATA", str(static_dir() / "nltk_cache"))
