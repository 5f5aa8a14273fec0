"""SQuAD 2.0 as passages for the reading model, with generated near misses.

Runs where groundqa is installed (it segments with ``index.segment``, the
segmenter the indexer uses, so training passages split into sentences exactly
as indexed documents do).  The result is one gzipped JSON file that
``qa.training.trainer`` reads without groundqa, so a training run can go to
a machine that has only torch, transformers and tokenizers.

Each example is a question, a paragraph, a window of its sentences (the
passage the model reads) and the answer span, or none.  Besides SQuAD 2.0's
own unanswerable questions, answerable ones are turned into near misses after
SQuAD 2.0's categories (Rajpurkar et al. 2018, table 2), each a kind that can
be counted and left out:

* ``role``: a title or role the question shares with its paragraph changed
  ("president" → "vice president", "king" → "queen");
* ``entity``: a person, organisation or place the question names, found in the
  paragraph, swapped for another of the same article that the paragraph does
  not name (also "a property of one entity asked of another");
* ``date``: a year the question names shifted to one the paragraph does not
  hold;
* ``quantity``: a number the question names changed, or its unit swapped;
* ``antonym``: a comparative or ordering word flipped ("first" → "last") when
  the flipped word is not in the paragraph;
* ``cut``: the question unchanged but the passage a window of its paragraph
  without the answer sentence (what retrieval hands the reader when it misses).

A changed question counts as unanswerable only when the paragraph no longer
holds what it names, which is checked each time.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from pathlib import Path

KINDS = ("role", "entity", "date", "quantity", "antonym", "cut")

_ENTITY = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+|von\s+)?[A-Z][\w'’-]*)*")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")
_STOP = {"What", "Who", "Whom", "Whose", "When", "Where", "Why", "How", "Which", "In", "On", "The", "A", "An", "At",
         "By", "For", "From", "To", "Of", "Is", "Are", "Was", "Were", "Did", "Do", "Does", "After", "Before",
         "During", "If", "Along", "According", "Besides", "Other", "Aside", "Between", "Since", "As", "Under"}
ROLES = ["president", "vice president", "executive vice president", "prime minister", "minister", "chairman",
         "director", "secretary", "king", "queen", "prince", "princess", "emperor", "empress", "pope", "bishop",
         "archbishop", "governor", "mayor", "senator", "general", "captain", "founder", "chief executive",
         "professor", "duke", "duchess", "chancellor", "ambassador", "commander", "deputy", "father", "mother",
         "son", "daughter", "brother", "sister", "wife", "husband"]
_ROLE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, ROLES), key=len, reverse=True)) + r")\b", re.I)
ANTONYMS = [("first", "last"), ("largest", "smallest"), ("biggest", "smallest"), ("highest", "lowest"),
            ("most", "least"), ("before", "after"), ("earliest", "latest"), ("longest", "shortest"),
            ("oldest", "youngest"), ("maximum", "minimum"), ("increase", "decrease"), ("north", "south"),
            ("east", "west"), ("win", "lose"), ("won", "lost"), ("best", "worst"), ("more", "fewer"),
            ("start", "end"), ("began", "ended"), ("major", "minor"), ("inner", "outer"), ("upper", "lower")]
_FLIP = {a: b for a, b in ANTONYMS} | {b: a for a, b in ANTONYMS}
_ANTONYM = re.compile(r"\b(" + "|".join(map(re.escape, _FLIP)) + r")\b", re.I)
UNITS = [["miles", "kilometres", "kilometers", "metres", "meters", "feet", "inches", "yards"],
         ["kilograms", "pounds", "tons", "tonnes", "grams", "ounces"],
         ["percent", "per cent"], ["years", "months", "weeks", "days", "hours", "minutes", "seconds", "decades",
                                   "centuries"],
         ["dollars", "euros", "pounds sterling", "yen", "francs"]]
_UNIT_OF = {u: group for group in UNITS for u in group}
_QUANTITY = re.compile(r"\b(\d[\d,]*(?:\.\d+)?)\s+(" + "|".join(sorted(map(re.escape, _UNIT_OF), key=len,
                                                                         reverse=True)) + r")\b", re.I)


def entities(text: str) -> list[str]:
    return [m.group(0) for m in _ENTITY.finditer(text) if m.group(0) not in _STOP and len(m.group(0)) > 2]


def _case_like(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def near_miss(kind: str, question: str, paragraph: str, article_entities: list[str],
              rng: random.Random) -> str | None:
    """``question`` changed so that ``paragraph`` no longer answers it, or None
    when this kind does not apply."""
    low = paragraph.lower()
    if kind == "role":
        found = [m for m in _ROLE.finditer(question) if m.group(0).lower() in low]
        if not found:
            return None
        m = rng.choice(found)
        options = [r for r in ROLES if r != m.group(0).lower() and not re.search(rf"\b{re.escape(r)}\b", low)]
        if not options:
            return None
        return question[:m.start()] + _case_like(rng.choice(options), m.group(0)) + question[m.end():]
    if kind == "entity":
        found = [e for e in entities(question) if e in paragraph]
        options = [e for e in article_entities if e not in paragraph and e not in question]
        if not found or not options:
            return None
        e = rng.choice(found)
        return question.replace(e, rng.choice(options), 1)
    if kind == "date":
        found = [m for m in _YEAR.finditer(question) if m.group(0) in paragraph]
        if not found:
            return None
        m = rng.choice(found)
        for _ in range(10):
            year = str(int(m.group(0)) + rng.choice([-1, 1]) * rng.randint(1, 12))
            if year not in paragraph:
                return question[:m.start()] + year + question[m.end():]
        return None
    if kind == "quantity":
        unit = [m for m in _QUANTITY.finditer(question)]
        if unit and rng.random() < 0.5:
            m = rng.choice(unit)
            options = [u for u in _UNIT_OF[m.group(2).lower()] if u != m.group(2).lower() and u not in low]
            if options:
                return question[:m.start(2)] + rng.choice(options) + question[m.end(2):]
        found = [m for m in _NUMBER.finditer(question) if m.group(0) in paragraph and not _YEAR.fullmatch(m.group(0))]
        if not found:
            return None
        m = rng.choice(found)
        digits = m.group(0).replace(",", "")
        for _ in range(10):
            value = float(digits) * rng.choice([0.5, 2, 3, 10, 0.1]) if "." in digits else \
                int(digits) + rng.choice([-1, 1]) * rng.randint(1, max(2, int(digits) // 2))
            text = f"{value:g}" if isinstance(value, float) else str(max(value, 0))
            if text not in paragraph and text != digits:
                return question[:m.start()] + text + question[m.end():]
        return None
    if kind == "antonym":
        found = [m for m in _ANTONYM.finditer(question)
                 if not re.search(rf"\b{_FLIP[m.group(0).lower()]}\b", low)]
        if not found:
            return None
        m = rng.choice(found)
        return question[:m.start()] + _case_like(_FLIP[m.group(0).lower()], m.group(0)) + question[m.end():]
    raise ValueError(kind)


def _cut_window(n: int, gold: set[int], rng: random.Random) -> tuple[int, int] | None:
    """A window of at least two sentences that leaves out every gold sentence."""
    runs, start = [], 0
    for i in range(n + 1):
        if i == n or i in gold:
            if i - start >= 2:
                runs.append((start, i))
            start = i + 1
    if not runs:
        return None
    a, b = rng.choice(runs)
    lo = rng.randint(a, b - 2)
    return lo, rng.randint(lo + 2, b)


def prepare(files: list[Path], seed: int = 13, kinds: tuple[str, ...] = KINDS, near_miss_share: float = 0.3,
            articles: int | None = None) -> dict:
    """Paragraphs (text, title, sentence spans) and examples referring to them.

    ``near_miss_share`` of the answerable questions get one near miss, of a
    kind drawn from those that apply; ``articles`` keeps that many articles
    per file, drawn with the seed (the CPU recipe's sample)."""
    from index.segment import sentence_spans

    rng = random.Random(seed)
    paragraphs, examples, counts = [], [], Counter()
    for path in files:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            data = json.load(f)["data"]
        if articles is not None and articles < len(data):
            data = random.Random(seed).sample(data, articles)
        for article in data:
            title = article["title"].replace("_", " ")
            words = " ".join(p["context"] for p in article["paragraphs"])
            # a capitalised word also used in lower case is a sentence opener, not a name
            known = sorted({e for p in article["paragraphs"] for e in entities(p["context"])
                            if " " in e or not re.search(rf"\b{re.escape(e.lower())}\b", words)})
            for p in article["paragraphs"]:
                text = p["context"]
                spans = [(s.start, s.end) for s in sentence_spans(text)]
                pid = len(paragraphs)
                paragraphs.append({"title": title, "text": text, "sentences": spans})
                for qa in p["qas"]:
                    question = qa["question"].strip()
                    answer = None
                    for a in qa.get("answers", []):
                        start, end = a["answer_start"], a["answer_start"] + len(a["text"])
                        if any(s <= start and end <= e for s, e in spans):
                            answer = (start, end)
                            break
                    if qa.get("is_impossible") or not qa.get("answers"):
                        examples.append({"q": question, "p": pid, "kind": "squad-unanswerable"})
                        counts["squad-unanswerable"] += 1
                        continue
                    if answer is None:  # an answer across sentences: no sentence holds it
                        counts["skipped-cross-sentence"] += 1
                        continue
                    examples.append({"q": question, "p": pid, "a": list(answer), "kind": "squad"})
                    counts["squad"] += 1
                    if rng.random() >= near_miss_share:
                        continue
                    for kind in rng.sample(list(kinds), len(kinds)):
                        if kind == "cut":
                            gold = {i for i, (s, e) in enumerate(spans) if s <= answer[0] < e}
                            window = _cut_window(len(spans), gold, rng)
                            if window:
                                examples.append({"q": question, "p": pid, "w": list(window), "kind": "cut"})
                                counts["cut"] += 1
                                break
                            continue
                        changed = near_miss(kind, question, text, known, rng)
                        if changed and changed != question:
                            examples.append({"q": changed, "p": pid, "kind": kind})
                            counts[kind] += 1
                            break
    return {"paragraphs": paragraphs, "examples": examples, "counts": dict(counts), "seed": seed,
            "kinds": list(kinds), "near_miss_share": near_miss_share, "articles": articles,
            "files": [p.name for p in files]}


def write(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(data, f, separators=(",", ":"))


def load_counts(path: Path) -> dict:
    """The example counts a prepared file was written with (for the card)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    return {"examples": len(data["examples"]), "paragraphs": len(data["paragraphs"]), "kinds": data["counts"],
            "articles": data["articles"], "files": data["files"]}
