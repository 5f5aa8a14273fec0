"""A real ``qa serve`` process for the UI tests (imported by
tests/test_ui_api.py and tests/test_ui_browser.py; not a conftest.py, so
only those modules load it).

The server runs with a fresh QA_DATA_DIR, so it indexes the seed article on
start-up and nothing else (``evals.served``).
"""

from __future__ import annotations

from evals.served import qa_serve  # noqa: F401  (the UI tests import it from here)
from qa.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"


def seed_document() -> tuple[str, str]:
    """(doc_id, text) of the seed article, read from the file itself."""
    from index.load import doc_id_for

    path = next((PROJECT_ROOT / "seeds").glob("*.txt"))
    return doc_id_for(path), path.read_bytes().decode("utf-8")
