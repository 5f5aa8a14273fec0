"""A chat conversation as the browser keeps it and as people take it away.

A conversation is a list of turns, ``{"question": str, "answer": dict}``
(``Answer.to_dict()``) or ``{"question": str, "error": str}``, with an
optional ``"scope"``: the titles of the documents the question was narrowed
to.  :func:`saved` is what the browser stores between visits (the answers
without their retrieved chunks, the last ``MAX_SAVED_TURNS``), and
:func:`restored` checks what a browser hands back, since it comes from
outside: turns that do not read as turns are dropped.  :func:`markdown` and
:func:`as_json` are the exports, every citation with its document, offsets
and page or paragraph.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from qa.cite import TENTATIVE_LEAD, TENTATIVE_LEAD_MANY, Answer

#: Turns kept in the browser: about 3-5 KB each, so a restored conversation
#: stays far below the server's 1 MiB request ceiling (``ui.limits``).
MAX_SAVED_TURNS = 50

#: How each kind of answer is named, in the chat and in the exports.
KIND_LABELS = {
    "confident": "Confident answer",
    "tentative": "Tentative answer",
    "abstained": "Not in the documents",
}


def saved(turns: list[dict]) -> list[dict]:
    """The finished turns, compacted for the browser's storage."""
    out = []
    for turn in turns:
        if turn.get("error"):
            out.append({"question": turn["question"], "error": turn["error"]})
        elif turn.get("answer") is not None and turn.get("shown") is None:
            answer = {k: v for k, v in turn["answer"].items() if k != "retrieved"}
            out.append({"question": turn["question"], "answer": answer, **_scope(turn)})
    return out[-MAX_SAVED_TURNS:]


def _scope(turn: dict) -> dict:
    return {"scope": [str(t) for t in turn["scope"]]} if turn.get("scope") else {}


def restored(value) -> list[dict]:
    """The turns of a conversation the browser kept; anything that is not
    a turn (an older format, a hand-edited store) is left out."""
    turns = []
    for turn in value if isinstance(value, list) else []:
        try:
            question = turn["question"]
            if not isinstance(question, str):
                continue
            if isinstance(turn.get("error"), str):
                turns.append({"question": question, "error": turn["error"]})
                continue
            answer = Answer.from_dict(turn["answer"]).to_dict()
            answer.pop("retrieved", None)
            turns.append({"question": question, "answer": answer, **_scope(turn)})
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return turns[-MAX_SAVED_TURNS:]


def _where(c: dict) -> str:
    parts = [c["doc_id"], f"characters {int(c['start'])}–{int(c['end'])}"]
    if c.get("pages"):
        pages = c["pages"]
        parts.append(f"page {pages[0]}" if len(pages) == 1 else f"pages {pages[0]}–{pages[-1]}")
    elif c.get("paragraphs"):
        parts.append(f"paragraph {int(c['paragraphs'][0]) + 1}")
    return ", ".join(parts)


def kind_line(answer: dict) -> str:
    """"Confident answer (p = 0.85)", "Tentative answer (p = 0.12)", "Not
    in the documents (closest p = 0.03)"."""
    kind = answer.get("judgement") or ("abstained" if answer.get("abstained") else "confident")
    p = answer.get("confidence")
    if p is None:
        return KIND_LABELS[kind]
    return f"{KIND_LABELS[kind]} ({'closest ' if kind == 'abstained' else ''}p = {float(p):.2f})"


def turn_markdown(turn: dict) -> str:
    """One question and its answer in Markdown: the answer's sentences with
    their markers, how sure it is, and the cited sentences with where they
    are (document, offsets, page)."""
    lines = [f"**Q:** {turn['question']}", ""]
    if turn.get("error"):
        return "\n".join(lines + [f"Could not answer: {turn['error']}"])
    answer = turn["answer"]
    if turn.get("scope"):
        lines += [f"*Searched only: {', '.join(turn['scope'])}*", ""]
    if answer["abstained"]:
        lines.append(answer["answer"])
    else:
        text = " ".join(f"{s['text']} " + "".join(f"[{n}]" for n in s["citations"]) for s in answer["sentences"])
        if answer.get("judgement") == "tentative":
            text = f"{TENTATIVE_LEAD if len(answer['sentences']) == 1 else TENTATIVE_LEAD_MANY} {text}"
        lines.append(text)
    lines += ["", f"*{kind_line(answer)}*"]
    if answer["citations"]:
        lines += ["", "Sources:"]
        for c in answer["citations"]:
            quote = " ".join(c["text"].split())
            lines.append(f"[{c['id']}] “{quote}” — {c['title']} ({_where(c)}; p = {float(c['score']):.2f})")
    return "\n".join(lines)


def markdown(turns: list[dict], now: datetime | None = None) -> str:
    """The whole conversation as a Markdown document."""
    now = now or datetime.now(timezone.utc)
    done = saved(turns)
    head = ["# groundqa conversation", "",
            f"Exported {now.strftime('%Y-%m-%d %H:%M UTC')} · {len(done)} question{'s' if len(done) != 1 else ''}"]
    body = [f"## {i}\n\n{turn_markdown(turn)}" for i, turn in enumerate(done, start=1)]
    return "\n\n".join(["\n".join(head), *body]) + "\n"


def as_json(turns: list[dict], now: datetime | None = None) -> str:
    """The whole conversation as JSON: each turn's question and its answer
    (``Answer.to_dict()`` without the retrieved chunks), or its error."""
    now = now or datetime.now(timezone.utc)
    return json.dumps({"exported": now.isoformat(timespec="seconds"), "turns": saved(turns)},
                      ensure_ascii=False, indent=2) + "\n"
