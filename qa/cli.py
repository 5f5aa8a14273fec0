"""The ``qa`` command: ``qa ask``, ``qa chat``, ``qa index add|list|remove``,
``qa serve`` and ``qa eval``.  Errors go to stderr with a non-zero exit code
(2 for bad input, 1 for everything else)."""

from __future__ import annotations

import gc
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from qa.settings import Settings


class Context:
    """Lazily opens the Engine so ``qa --help`` stays instant.  ``qa ask``
    and ``qa chat`` set ``answering`` first: their Engine preloads the models."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.answering = False
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from qa.engine import Engine

            self._engine = Engine(self.settings, preload=self.answering)
        return self._engine


def fail(message: str, code: int = 1):
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def emit(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


class Group(click.Group):
    """Turns an unreachable store or LLM, or an answer over its time budget,
    into one line on stderr and exit code 1."""

    def invoke(self, ctx):
        from index.store import StoreUnavailable
        from qa.engine import AnswerTimeout
        from qa.reading.llm import LLMUnavailable

        try:
            return super().invoke(ctx)
        except (StoreUnavailable, LLMUnavailable, AnswerTimeout) as err:
            fail(str(err), 1)
        finally:
            # The process exits next, and Python's last collections would
            # walk every object llama-index, Chroma and pydantic made: 0.3 s
            # of a 2.1 s `qa ask`.  Frozen objects are left to the exit.
            gc.freeze()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where the index lives [env QA_DATA_DIR].")
@click.option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000 [env QA_CHROMA_URL].")
@click.option("--no-seed", is_flag=True, default=None, help="Do not index the seed corpus into a fresh data dir [env QA_NO_SEED].")
@click.option("--reader", type=click.Choice(["cross-encoder", "heuristic", "llm"]),
              help="Who reads the candidate sentences [env QA_READER; default cross-encoder, or llm when --llm-url is set].")
@click.option("--llm-url", help="An OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1, that picks the cited sentences [env QA_LLM_URL].")
@click.option("--llm-model", help="The model's name on that server [env QA_LLM_MODEL].")
@click.pass_context
def main(ctx, data_dir, chroma_url, no_seed, reader, llm_url, llm_model):
    """Ask questions of your documents; every answer sentence is cited."""
    settings = Settings.from_env(data_dir=data_dir, chroma_url=chroma_url, seed=False if no_seed else None,
                                 reader=reader, llm_url=llm_url, llm_model=llm_model)
    ctx.obj = Context(settings)


def _ask(obj: Context, question: str, history, k, mode, documents=None):
    obj.answering = True
    try:
        return obj.engine.answer(question, history=history, top_k=k, mode=mode, documents=documents)
    except ValueError as err:
        fail(str(err), 2)


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.option("-k", "--k", "k", type=click.IntRange(1, 50), help="Chunks to retrieve [env QA_TOP_K].")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True)
@click.option("--history", multiple=True, help="An earlier question (repeatable, oldest first).")
@click.option("--doc", "documents", multiple=True, metavar="DOC_ID",
              help="Search only this document (repeatable; `qa index list` shows the ids).")
@click.pass_obj
def ask(obj: Context, question, as_json, k, mode, history, documents):
    """Answer one QUESTION with cited sentences."""
    result = _ask(obj, question, list(history), k, mode, list(documents))
    emit(result.to_dict(), as_json, result.render())


@main.command()
@click.option("-k", "--k", "k", type=click.IntRange(1, 50))
@click.pass_obj
def chat(obj: Context, k):
    """A conversation in the terminal; follow-up questions use the history."""
    from qa.engine import AnswerTimeout
    from ui.memory import release

    obj.answering = True
    history: list[str] = []
    click.echo("Ask a question (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = click.prompt(">", prompt_suffix=" ", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        try:
            result = obj.engine.answer(question, history=history, top_k=k)
        except (ValueError, AnswerTimeout) as err:
            click.echo(f"Error: {err}", err=True)
            continue
        finally:
            release()  # a long session, like `qa serve`: the answer's buffers go back (ui/memory.py)
        click.echo(result.render() + "\n")
        history.append(question)


@main.group()
def index():
    """Add, list and remove documents."""


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def index_add(obj: Context, paths, as_json):
    """Index files or folders (.txt, .md, .rst, .html, .pdf, .docx); unchanged files are skipped."""
    from tqdm import tqdm

    missing = [str(p) for p in paths if not p.exists()]
    for m in missing:
        click.echo(f"Error: {m}: no such file or folder", err=True)
    paths = [p for p in paths if p.exists()]
    bar = tqdm(total=1.0, disable=as_json or None, file=sys.stderr, dynamic_ncols=True,
               bar_format="{percentage:3.0f}%|{bar}| {desc}")
    started = time.perf_counter()

    def progress(step):
        bar.n = step.fraction
        bar.set_description_str(step.describe(), refresh=False)
        bar.refresh()

    try:
        report = obj.engine.add(paths, progress)
    except KeyboardInterrupt:
        bar.close()
        fail("interrupted; run the same command again to resume", 130)
    elapsed = time.perf_counter() - started
    bar.close()
    for message in report.skipped:
        click.echo(f"Skipped: {message}", err=True)
    rate = report.sentences / elapsed if elapsed else 0.0
    summary = (f"{len(report.added)} added, {len(report.replaced)} replaced, {len(report.unchanged)} unchanged, "
               f"{len(report.skipped)} skipped; {report.sentences} sentences ({rate:.0f}/s)")
    emit(report.to_dict() | {"sentences_per_s": round(rate, 1)}, as_json, summary)
    if missing or (report.skipped and not (report.added or report.replaced or report.unchanged)):
        sys.exit(1)


@index.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def index_list(obj: Context, as_json):
    """List the indexed documents."""
    docs = obj.engine.documents()
    rows = [f"{d.doc_id}\t{d.date or '-'}\t{d.sentences} sentences\t{d.chunks} chunks\t{d.title}" for d in docs]
    emit([d.__dict__ for d in docs], as_json, "\n".join(rows) if rows else "(no documents)")


@index.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@click.pass_obj
def index_remove(obj: Context, doc_ids):
    """Remove documents and all their chunks and sentences."""
    unknown = [d for d in doc_ids if not obj.engine.remove(d)]
    for d in doc_ids:
        if d not in unknown:
            click.echo(f"Removed {d}")
    if unknown:
        fail(f"no such document: {', '.join(unknown)}", 1)


@index.command("check")
@click.option("--repair", is_flag=True, help="Drop incomplete and inconsistent documents and orphan entries.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def index_check(obj: Context, repair, as_json):
    """Verify the store: every document complete, every entry belongs to one.

    Exits 1 while a problem remains (run again with --repair)."""
    result = obj.engine.check(repair)
    lines = [f"{result.documents} documents, {result.sentences} sentences, {result.chunks} chunks"]
    for p in result.problems:
        lines.append(f"{p.doc_id}: {p.what}" + (" (repaired: dropped)" if p.repaired else ""))
    if not result.problems:
        lines.append("no problems")
    data = {"documents": result.documents, "sentences": result.sentences, "chunks": result.chunks,
            "clean": result.clean, "problems": [asdict(p) for p in result.problems]}
    emit(data, as_json, "\n".join(lines))
    if not result.clean:
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7860, show_default=True, type=int)
@click.pass_obj
def serve(obj: Context, host, port):
    """Start the chat UI in the browser.  A document that an earlier server,
    killed mid-upload or mid-removal, left half-written is removed first."""
    from ui.memory import limit_arenas

    limit_arenas()  # before Gradio, the Engine and their threads start
    from ui.app import launch

    for doc_id in obj.engine.repair():
        click.echo(f"Repaired: removed {doc_id}, left incomplete by an interrupted ingest or removal", err=True)
    launch(obj.engine, host=host, port=port)


def _register_eval() -> None:
    from evals.cli import eval_command

    main.add_command(eval_command, "eval")


_register_eval()

if __name__ == "__main__":
    main()
