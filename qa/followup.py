"""Which earlier question a follow-up leans on.

Retrieval reads a follow-up together with the question it leans on, and the
heuristic score weighs that question's words at half weight; the reading
model reads the question as asked.
"""

from __future__ import annotations

import re

from qa.retrieve import terms

_ANAPHORA = re.compile(
    r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs|this|that|these|those|"
    r"there|then|the latter|the former|same)\b",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"\s*(and|also|what about|how about|why not)\b", re.IGNORECASE)


def resolve_history(question: str, history: list | None) -> str | None:
    """The earlier question a follow-up leans on, or None for a standalone one.

    ``history`` holds earlier user questions, oldest first (chat messages as
    ``{"role", "content"}`` dicts are accepted; only user turns count).  A
    question leans on the previous one when it uses an anaphoric word, opens
    like a continuation ("And …", "What about …") or has no content word.
    """
    if not history:
        return None
    turns = [h["content"] if isinstance(h, dict) else h for h in history
             if not isinstance(h, dict) or h.get("role", "user") == "user"]
    turns = [t for t in turns if isinstance(t, str) and t.strip()]
    if not turns:
        return None
    if _ANAPHORA.search(question) or _CONTINUATION.match(question) or not terms(question):
        return turns[-1]
    return None


