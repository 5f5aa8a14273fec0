"""Adding and removing documents from the browser (or the HTTP API).

An uploaded file is checked (type, size) under its own name, copied to
``<data_dir>/uploads/<sanitised name>`` and indexed from there with
``Engine.add``, so the library keeps a copy the engine can cite and a later
upload of the same name replaces it.  The sanitised name keeps only
``[A-Za-z0-9._-]`` and no directory part, so no name can leave the uploads
folder.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from index.load import MAX_FILE_BYTES, SUFFIXES, doc_id_for

MAX_NAME_CHARS = 120
ACCEPTED = ", ".join(SUFFIXES)


@dataclass(frozen=True)
class Outcome:
    """What happened to one uploaded file or one removal request."""

    name: str
    status: str  # added | replaced | unchanged | rejected | removed | missing
    message: str
    doc_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status not in ("rejected", "missing")

    def to_dict(self) -> dict:
        return asdict(self)


def base_name(name: str) -> str:
    """The file name without any directory part, as the user named it."""
    return re.split(r"[\\/]", name or "")[-1]


def safe_name(name: str) -> str:
    """A plain file name for ``name``: no directories, no leading dots, only
    ``[A-Za-z0-9._-]``, at most ``MAX_NAME_CHARS`` long, suffix kept (in
    lower case).  When cleaning changes the stem, a hash of the original name
    goes into it, so two names that clean up alike (``ä.txt``, ``ö.txt``)
    do not replace each other, and the same name always lands on the same
    file."""
    original = base_name(name)
    stem, dot, suffix = original.rpartition(".")
    if not dot or not stem.strip("."):
        stem, suffix = original, ""
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    room = MAX_NAME_CHARS - len(suffix) - 1
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")
    if clean != stem or not clean or len(clean) > room:
        tag = "-" + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        clean = (clean[: room - len(tag)].rstrip("._-") or "upload") + tag
    return f"{clean}.{suffix}" if suffix else clean


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def size_text(n: int) -> str:
    mb = n / (1024 * 1024)
    if mb >= 1:
        return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
    return f"{max(n / 1024, 1):.0f} KB"


class Library:
    """Upload and removal rules on top of an Engine; one at a time."""

    def __init__(self, engine):
        self.engine = engine
        self.folder = Path(engine.settings.data_dir) / "uploads"
        self._lock = threading.Lock()

    def prune(self) -> list[str]:
        """Delete uploaded copies no document comes from: what a server
        killed mid-upload leaves once its half-written document is repaired
        away.  Returns the names deleted."""
        if not self.folder.is_dir():
            return []
        sources = {Path(d.source).resolve() for d in self.engine.documents()}
        orphans = [p for p in self.folder.iterdir() if p.is_file() and p.resolve() not in sources]
        for path in orphans:
            path.unlink(missing_ok=True)
        return sorted(p.name for p in orphans)

    def target(self, name: str) -> Path:
        path = self.folder / safe_name(name)
        if path.resolve().parent != self.folder.resolve():
            raise ValueError(f"{name}: not a plain file name")
        return path

    def check(self, name: str, size: int) -> str | None:
        """Why a file cannot be added, in words, or None."""
        suffix = Path(safe_name(name)).suffix.lower()
        if suffix not in SUFFIXES:
            kind = suffix or "a file without extension"
            return f"{name}: {kind} files are not supported; upload {ACCEPTED}."
        if size > MAX_FILE_BYTES:
            return f"{name}: {size_text(size)} is over the {size_text(MAX_FILE_BYTES)} limit per file."
        if size == 0:
            return f"{name}: the file is empty."
        return None

    def upload(self, files: Iterable[tuple[Path, str]], progress: Callable | None = None) -> list[Outcome]:
        """Add ``(path, original name)`` pairs; ``progress`` gets the
        ingest's ``index.ingest.Step`` reports, counted over the whole
        upload (its fraction, its files, the time left for the files still
        to come estimated from those done).  Files past
        ``Settings.max_upload_files`` are refused by name, not dropped
        silently, so one request cannot hold the library for long."""
        limit = self.engine.settings.max_upload_files
        files, extra = list(files)[:limit], list(files)[limit:]
        outcomes = []
        started = time.perf_counter()
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            for i, (path, name) in enumerate(files):
                def report(step, i=i, n=len(files)):
                    left = step.seconds_left
                    if left is not None and n > 1:
                        left += (n - i - 1) * (time.perf_counter() - started + left) / (i + 1)
                    progress(replace(step, files_done=i, files_total=n, fraction=(i + step.fraction) / n,
                                     seconds_left=left))

                outcomes.append(self._upload_one(Path(path), name, report if progress else None))
        return outcomes + [Outcome(name, "rejected", f"{name}: not added; one upload takes at most "
                                   f"{plural(limit, 'file')} (QA_MAX_UPLOAD_FILES). Upload it again.")
                           for _, name in extra]

    def _upload_one(self, src: Path, name: str, progress: Callable | None = None) -> Outcome:
        try:
            problem = self.check(name, src.stat().st_size)
            data = b"" if problem else src.read_bytes()
        except OSError as err:
            return Outcome(name, "rejected", f"{name}: could not be read ({err.strerror or err}).")
        if problem:
            return Outcome(name, "rejected", problem)
        target = self.target(name)
        doc_id = doc_id_for(target)
        clash = self.engine.store.info(doc_id)
        if clash and Path(clash.source).resolve() != target.resolve():
            return Outcome(name, "rejected", f"{name}: another document already has the id {doc_id!r} "
                           f"({clash.title}); rename the file to add it as well.", doc_id)
        previous = target.read_bytes() if target.exists() else None
        if previous != data:
            target.write_bytes(data)
        report = self.engine.add([target], progress, names={target: base_name(name)})
        if report.unchanged:
            return Outcome(name, "unchanged", f"{name} is already indexed and unchanged; nothing was changed.", doc_id)
        if report.added or report.replaced:
            info = self.engine.store.info(doc_id)
            status = "added" if report.added else "replaced"
            counts = f" ({plural(info.sentences, 'sentence')}, {plural(info.chunks, 'chunk')})" if info else ""
            verb = "Added" if report.added else "Replaced the earlier version of"
            return Outcome(name, status, f"{verb} {name}{counts}; you can ask about it now.", doc_id)
        if previous is None:
            target.unlink(missing_ok=True)
        elif previous != data:
            target.write_bytes(previous)
        reasons = "; ".join(m.replace(str(target), name) for m in report.skipped) or f"{name}: not indexed."
        return Outcome(name, "rejected", reasons, doc_id)

    def remove(self, doc_id: str) -> Outcome:
        with self._lock:
            info = self.engine.store.info(doc_id)
            if not self.engine.remove(doc_id):
                return Outcome(doc_id, "missing", f"There is no document {doc_id!r}.", doc_id)
            if info and Path(info.source).parent.resolve() == self.folder.resolve():
                Path(info.source).unlink(missing_ok=True)
            title = info.title if info else doc_id
            return Outcome(doc_id, "removed", f"Removed {title}; it is no longer cited.", doc_id)
