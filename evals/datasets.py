"""Eval data sets: a corpus of documents plus questions with gold evidence.

Every data set, the shipped ones included, is read through one format (see
``evals/README.md``), so a user's own corpus and questions are evaluated
exactly like ours.  Gold evidence is resolved to *sentences* at load time,
with the same segmenter the indexer uses: a question's evidence is a list of
groups, each group the sentences that hold one required piece of evidence
(any sentence of a group counts as citing it).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.load import Document, LoadError, discover, load_file
from qa.settings import PROJECT_ROOT

EVALS_DIR = Path(__file__).resolve().parent
SEED_QUESTIONS = EVALS_DIR / "data" / "seed_dev.jsonl"
SEED_CORPUS = PROJECT_ROOT / "seeds"
SQUAD_DIR = EVALS_DIR / "data" / "squad2-normans"
POOL_VAL = PROJECT_ROOT.parent / "shared" / "data" / "squad2-pool" / "val.json"
DOCS_DIR = EVALS_DIR / "data" / "python-docs"
NAMED = ("seed", "squad-dev", "squad-test", "pool-val", "docs-dev", "docs-test")
#: Report only: never tuned on (the sweep refuses them).
TEST_SETS = ("squad-test", "docs-test")


class DatasetError(ValueError):
    """A data set that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Range:
    """Characters ``[start, end)`` of document ``doc_id``."""

    doc_id: str
    start: int
    end: int

    def overlap(self, other: "Range") -> int:
        if self.doc_id != other.doc_id:
            return 0
        return max(0, min(self.end, other.end) - max(self.start, other.start))

    def covers(self, sentence: "Range") -> bool:
        """A citation or chunk counts as covering a sentence when it holds at
        least half of it (chunkers that cut sentences still get credit for
        the part they hold)."""
        return 2 * self.overlap(sentence) >= max(1, sentence.end - sentence.start)


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    history: tuple[str, ...] = ()
    answerable: bool = True
    answers: tuple[str, ...] = ()
    evidence: tuple[tuple[Range, ...], ...] = ()  # groups of gold sentences
    kind: str = ""

    @property
    def gold_sentences(self) -> tuple[Range, ...]:
        return tuple(sorted({r for group in self.evidence for r in group}, key=lambda r: (r.doc_id, r.start)))


@dataclass
class Dataset:
    name: str
    corpus_key: str  # data sets with the same key share one index in a run
    documents: list[Document]
    questions: list[Question]
    description: str = ""
    texts: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self):
        self.texts = {d.doc_id: d.text for d in self.documents}

    def limited(self, n: int | None) -> "Dataset":
        if not n:
            return self
        return Dataset(self.name, self.corpus_key, self.documents, self.questions[:n], self.description)


# corpus --------------------------------------------------------------------
def load_corpus(path: Path) -> list[Document]:
    """A folder or file of ``.txt/.md/.rst/.html`` documents (doc ids as ``qa index add``
    gives them), or a JSONL file of ``{"doc_id", "text", "title"?, "source"?, "date"?}``."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such corpus file or folder")
    if path.is_file() and path.suffix.lower() == ".jsonl":
        docs = []
        for n, row in _jsonl(path):
            if not isinstance(row.get("doc_id"), str) or not isinstance(row.get("text"), str) or not row["text"].strip():
                raise DatasetError(f"{path}:{n}: needs a string doc_id and a non-empty text")
            docs.append(Document(
                doc_id=row["doc_id"], title=row.get("title") or row["doc_id"],
                source=row.get("source") or f"{path.name}#{row['doc_id']}", text=row["text"],
                sha256=hashlib.sha256(row["text"].encode("utf-8")).hexdigest(), date=row.get("date"),
            ))
    else:
        docs = []
        for file, root in discover([path]):
            try:
                docs.append(load_file(file, root))
            except LoadError as err:
                raise DatasetError(str(err)) from None
    if not docs:
        raise DatasetError(f"{path}: no documents (.txt, .md, .rst, .html or a .jsonl of {{doc_id, text}})")
    ids = [d.doc_id for d in docs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise DatasetError(f"{path}: duplicate doc_id {', '.join(dupes)}")
    return docs


# questions -----------------------------------------------------------------
def _jsonl(path: Path):
    with open(path, encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DatasetError(f"{path}:{n}: not JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{n}: each line must be a JSON object")
            yield n, row


def _find(text: str, needle: str) -> list[tuple[int, int]]:
    """Every occurrence of ``needle`` in ``text``; whitespace runs may differ."""
    hits = [(m.start(), m.start() + len(needle)) for m in re.finditer(re.escape(needle), text)]
    if hits:
        return hits
    words = needle.split()
    if not words:
        return []
    pattern = r"\s+".join(re.escape(w) for w in words)
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


class _Sentences:
    """Sentence spans per document, computed once (the indexer's segmenter)."""

    def __init__(self, docs: dict[str, Document]):
        from index.segment import document_spans

        self._spans = {doc_id: document_spans(d) for doc_id, d in docs.items()}

    def within(self, r: Range) -> tuple[Range, ...]:
        return tuple(Range(r.doc_id, s.start, s.end) for s in self._spans[r.doc_id]
                     if s.start < r.end and r.start < s.end)


def load_questions(path: Path, docs: list[Document], split: str | None = None) -> list[Question]:
    """Questions JSONL (format in ``evals/README.md``).  Gold evidence is either
    ``evidence`` (verbatim substrings, each one required, found in ``doc_id``
    or any document) or SQuAD-style ``answer_starts`` offsets into ``doc_id``
    (alternatives: any of them counts).  ``split`` keeps only rows whose
    ``split`` field equals it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such questions file")
    by_id = {d.doc_id: d for d in docs}
    sentences = _Sentences(by_id)
    out, seen = [], set()
    for n, row in _jsonl(path):
        if split is not None and row.get("split") != split:
            continue
        where = f"{path}:{n}"
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise DatasetError(f"{where}: needs a non-empty question")
        qid = str(row.get("id") or f"{path.stem}-{n}")
        if qid in seen:
            raise DatasetError(f"{where}: duplicate id {qid}")
        seen.add(qid)
        doc_id = row.get("doc_id")
        if doc_id is not None and doc_id not in by_id:
            raise DatasetError(f"{where}: doc_id {doc_id!r} is not in the corpus")
        answers = tuple(a for a in row.get("answers") or [] if isinstance(a, str) and a.strip())
        answerable = bool(row["answerable"]) if "answerable" in row else not row.get("is_impossible", False)
        groups: list[tuple[Range, ...]] = []
        if row.get("answer_starts"):
            if doc_id is None:
                raise DatasetError(f"{where}: answer_starts needs a doc_id")
            text = by_id[doc_id].text
            spans = []
            for answer, start in zip(row.get("answers") or [], row["answer_starts"]):
                if text[start : start + len(answer)] != answer:
                    raise DatasetError(f"{where}: answer {answer!r} is not at offset {start} of {doc_id}")
                spans.extend(sentences.within(Range(doc_id, start, start + len(answer))))
            groups.append(tuple(sorted(set(spans), key=lambda r: r.start)))
        for evidence in row.get("evidence") or []:
            pool = [by_id[doc_id]] if doc_id else docs
            found = [Range(d.doc_id, a, b) for d in pool for a, b in _find(d.text, evidence)]
            if not found:
                raise DatasetError(f"{where}: evidence {evidence[:60]!r} is not in {'document ' + doc_id if doc_id else 'the corpus'}")
            spans = {s for r in found for s in sentences.within(r)}
            groups.append(tuple(sorted(spans, key=lambda r: (r.doc_id, r.start))))
        if groups and not answerable:
            raise DatasetError(f"{where}: an unanswerable question cannot have gold evidence")
        history = row.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise DatasetError(f"{where}: history must be a list of earlier questions")
        out.append(Question(qid, question.strip(), tuple(history), answerable, answers, tuple(groups),
                            str(row.get("kind") or "")))
    if not out:
        raise DatasetError(f"{path}: no questions" + (f" with split {split!r}" if split else ""))
    return out


# named data sets -------------------------------------------------------------
def user_dataset(corpus: Path, questions: Path, name: str | None = None) -> Dataset:
    docs = load_corpus(corpus)
    return Dataset(name or Path(questions).stem, f"user:{Path(corpus).resolve()}", docs,
                   load_questions(questions, docs), f"{questions} against {corpus}")


def seed() -> Dataset:
    docs = load_corpus(SEED_CORPUS)
    return Dataset("seed", "seed", docs, load_questions(SEED_QUESTIONS, docs),
                   "seed dev questions (evals/data/seed_dev.jsonl) against the seed article")


def squad(split: str) -> Dataset:
    if not (SQUAD_DIR / "docs.jsonl").is_file():
        raise DatasetError(f"{SQUAD_DIR}: the SQuAD 2.0 Normans set is missing")
    docs = load_corpus(SQUAD_DIR / "docs.jsonl")
    return Dataset(f"squad-{split}", "squad2-normans", docs, load_questions(SQUAD_DIR / "qa.jsonl", docs, split),
                   f"SQuAD 2.0 'Normans', {split} split, against all {len(docs)} paragraphs")


def python_docs(split: str) -> Dataset:
    """Five pages of the Python 3.11 library reference (Sphinx
    reStructuredText) and questions about them (``evals/data/python-docs``)."""
    docs = load_corpus(DOCS_DIR / "corpus")
    return Dataset(f"docs-{split}", "python-docs", docs, load_questions(DOCS_DIR / "questions.jsonl", docs, split),
                   f"Python 3.11 library reference, {split} split, against its {len(docs)} pages")


def squad_json(path: Path, name: str) -> Dataset:
    """A file in the official SQuAD 2.0 JSON format, each paragraph a document
    (used for ``pool-val``, the reading model's validation articles)."""
    import tempfile

    if not Path(path).is_file():
        raise DatasetError(f"{path}: no such SQuAD 2.0 file")
    articles = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    with tempfile.TemporaryDirectory() as tmp:
        docs_file, qa_file = Path(tmp) / "docs.jsonl", Path(tmp) / "qa.jsonl"
        with open(docs_file, "w", encoding="utf-8") as docs, open(qa_file, "w", encoding="utf-8") as qas:
            for a, article in enumerate(articles):
                for p, para in enumerate(article["paragraphs"]):
                    doc_id = f"{a:02d}-p{p:03d}"
                    docs.write(json.dumps({"doc_id": doc_id, "text": para["context"],
                                           "title": f"{article['title']} (paragraph {p})"}) + "\n")
                    for qa in para["qas"]:
                        answers = [x["text"] for x in qa.get("answers", [])]
                        qas.write(json.dumps({"id": qa["id"], "doc_id": doc_id, "question": qa["question"],
                                              "answers": answers,
                                              "answer_starts": [x["answer_start"] for x in qa.get("answers", [])],
                                              "is_impossible": qa.get("is_impossible", False)}) + "\n")
        corpus = load_corpus(docs_file)
        questions = load_questions(qa_file, corpus)
    return Dataset(name, f"squad-json:{Path(path).resolve()}", corpus, questions,
                   f"{Path(path).name}: {len(articles)} SQuAD 2.0 articles, {len(corpus)} paragraphs")


def resolve(name: str) -> Dataset:
    """``seed``, ``squad-dev``, ``squad-test``, ``pool-val``, ``docs-dev``, ``docs-test``, or a folder holding
    ``questions.jsonl`` and a corpus (``docs.jsonl`` or a ``corpus/`` folder)."""
    if name == "seed":
        return seed()
    if name in ("squad-dev", "squad-test"):
        return squad(name.split("-", 1)[1])
    if name in ("docs-dev", "docs-test"):
        return python_docs(name.split("-", 1)[1])
    if name == "pool-val":
        return squad_json(POOL_VAL, "pool-val")
    path = Path(name)
    if path.is_dir():
        corpus = path / "docs.jsonl" if (path / "docs.jsonl").is_file() else path / "corpus"
        return user_dataset(corpus, path / "questions.jsonl", path.name)
    raise DatasetError(f"unknown data set {name!r}: use {', '.join(NAMED)}, a folder with questions.jsonl and "
                       "docs.jsonl (or corpus/), or --corpus with --questions")
