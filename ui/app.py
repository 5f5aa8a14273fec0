"""The browser UI (``qa serve``): a chat whose answers cite their sources, a
source viewer, the document library and settings; plus a small HTTP API for
programs (``gradio_client``):

>>> from gradio_client import Client
>>> Client("http://127.0.0.1:7860/").predict("Who is Ruan Zongze?", [], 4, api_name="/answer")

Endpoints: ``/answer`` (question, history, top_k, documents) ->
``Answer.to_dict()``; ``/upload`` (file) and ``/remove`` (doc_id) -> an
outcome record; ``/documents`` () -> the library; ``/document`` (doc_id) ->
one document's text, which is what citation offsets index into.

The conversation is kept in the browser (``gr.BrowserState``, encrypted in
its localStorage with a key kept in the data directory), so a reload or a
server restart does not lose it.

Everything runs locally: no CDN assets, no analytics, fonts from Gradio's
own static files.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path

from index import offline

offline.enforce()

import gradio as gr  # noqa: E402  (after offline.enforce, on purpose)
from gradio.utils import get_upload_folder, is_in_or_equal  # noqa: E402

from index.load import MAX_FILE_BYTES  # noqa: E402
from ui import conversation, memory, render  # noqa: E402
from ui.library import ACCEPTED, Library, size_text  # noqa: E402
from ui.limits import BodyLimit  # noqa: E402

STATIC = Path(__file__).parent / "static"

#: How the Settings tab names each reader (``qa.reading``).
READER_LABELS = {
    "cross-encoder": "Reading model (trained cross-encoder)",
    "heuristic": "Heuristic (word cover + cosine)",
    "llm": "LLM (the configured server)",
}

#: Questions the seed article (Global Times, 2018-09-24) answers.
EXAMPLES = [
    "Who is Ruan Zongze?",
    "What is fentanyl?",
    "How many fentanyl analogs has China listed?",
    "How many people were arrested in China in 2017?",
    "What did Donald Trump tweet?",
]

#: Gradio's own ceiling on a request's file size, far above the per-file limit
#: (``MAX_FILE_BYTES``) that Library checks: a file between the two gets our
#: message, in our escaped markup.  Gradio's message (and its file-type
#: filter, which is why ``gr.File`` gets no ``file_types``) would put the file
#: name into a toast as HTML.
UPLOAD_CEILING = 10 * MAX_FILE_BYTES

#: Pause between streamed sentences: the answer is ready at once, this only
#: lets the reader see it being built sentence by sentence.
STREAM_PAUSE_S = 0.08

#: Sessions whose state Gradio keeps (a browser tab's chat, and one per API
#: call: each costs about 65 KB of copied component config).  Gradio's
#: default, 10,000, let ``qa serve`` grow by 130 MB over 2,000 API calls in
#: ``make stress``; past this many the least recently used is dropped.
SESSIONS = 200


def launch_options() -> dict:
    """Theme, CSS and server options for ``Blocks.launch`` (Gradio 6 takes
    them there, not in ``Blocks``), with the request-body ceiling."""
    from starlette.middleware import Middleware

    return {
        "theme": gr.themes.Default(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate"),
        "css_paths": [STATIC / "app.css"],
        "ssr_mode": False,
        "max_file_size": UPLOAD_CEILING,
        "app_kwargs": {"middleware": [Middleware(BodyLimit)]},
        "state_session_capacity": SESSIONS,
    }


def browser_secret(data_dir: Path) -> str:
    """The key ``gr.BrowserState`` encrypts the kept conversation with.
    Gradio makes a new one at every start, which would leave every kept
    conversation unreadable after a restart; this one is made once per data
    directory.  It is sent to the page, so it only keeps other sites'
    scripts and casual readers of localStorage out."""
    path = Path(data_dir) / "browser-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(24)
        path.write_text(value + "\n")
        path.chmod(0o600)
        return value


def download_link(name: str, mime: str, text: str, label: str) -> str:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (f'<a class="qa-download" download="{render.esc(name)}" href="data:{mime};charset=utf-8;base64,{data}">'
            f'{render.esc(label)}</a>')


def refused(message: str) -> gr.Error:
    """An error the API caller can act on, in words meant for them (bad
    input, a document that is not there, the store down): Gradio's
    traceback would add one log entry per refusal and nothing to read."""
    return gr.Error(message, print_exception=False)


def build(engine) -> gr.Blocks:
    """The whole app for ``engine``.  Launch it with ``**launch_options()``
    for its theme and CSS (``launch`` below does)."""
    from qa.reading import READERS

    library = Library(engine)
    library.prune()
    default_k = engine.settings.top_k
    limit = engine.settings.max_question_chars
    # Only readers that can run here are offered; the LLM needs a server.
    available = [r for r in READERS if r != "llm" or engine.settings.llm_url]

    def doc_meta() -> dict[str, render.DocMeta]:
        return {d.doc_id: render.DocMeta(d.title, d.date) for d in engine.documents()}

    # chat --------------------------------------------------------------------
    def show(turns: list, turn: int, cite: int | None):
        """The viewer's HTML for citation ``cite`` of answer ``turn`` (its
        first citation when ``cite`` is None or unknown)."""
        answer = turns[turn].get("answer") if 0 <= turn < len(turns) else None
        if not answer or not answer["citations"]:
            return gr.skip()
        ids = [c["id"] for c in answer["citations"]]
        cite = cite if cite in ids else ids[0]
        chosen = answer["citations"][ids.index(cite)]
        document = engine.document(chosen["doc_id"])
        return render.viewer_html(turn, answer, cite, document, pages_of(chosen) if document else None)

    def pages_of(citation: dict) -> list[render.PageImage]:
        """The rendered pages of a PDF citation; none (the text view alone)
        for other documents, or when the kept PDF is gone or unreadable."""
        path = engine.store.file(citation["doc_id"]) if citation.get("pages") else None
        if path is None:
            return []
        try:
            return [render.page_image(path, int(n)) for n in citation["pages"]]
        except (OSError, RuntimeError, IndexError):  # file gone, PdfiumError, no such page
            return []

    def answered(question: str, **options):
        """``engine.answer``, then the buffers it freed go back to the system
        (``ui.memory``): the server's RSS stays at its resting size."""
        try:
            return engine.answer(question, **options)
        finally:
            memory.release()

    def respond(question: str, turns: list, top_k: float, reader: str, scope: list | None):
        """Outputs: chat, question box, turns, viewer, the kept
        conversation, the notice under the question box."""
        question = question or ""
        if not question.strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        if len(question) > limit:  # left in the box, to be shortened; nothing joins the conversation
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), render.notice_html(
                f"This question is {len(question):,} characters long; the limit is {limit:,}. "
                f"Shorten it by {len(question) - limit:,} characters and ask again.")
            return
        question = question.strip()
        history = [t["question"] for t in turns]
        meta = doc_meta()
        narrowed = [meta[d].title if d in meta else d for d in scope or []]
        turns = [*turns, {"question": question, "answer": None, **({"scope": narrowed} if narrowed else {})}]
        yield render.messages(turns, meta), "", gr.skip(), gr.skip(), gr.skip(), render.notice_html("")
        try:
            if reader not in available:
                raise ValueError(f"reader {reader!r} is not available on this server")
            result = answered(question, history=history, top_k=int(top_k or default_k),
                              reader=reader, documents=scope or None).to_dict()
            del result["retrieved"]  # the chunk texts: not shown, and each session keeps its turns
        except (ValueError, RuntimeError) as err:  # bad input; the store went away (StoreUnavailable)
            turns[-1] = {"question": question, "error": str(err)}
            yield render.messages(turns, meta), gr.skip(), turns, gr.skip(), conversation.saved(turns), gr.skip()
            return
        meta = doc_meta()
        for shown in range(1, len(result["sentences"])):
            turns[-1] = {**turns[-1], "answer": result, "shown": shown}
            yield render.messages(turns, meta), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            time.sleep(STREAM_PAUSE_S)
        turns[-1] = {k: v for k, v in {**turns[-1], "answer": result}.items() if k != "shown"}
        viewer = render.VIEWER_ABSTAINED if result["abstained"] else show(turns, len(turns) - 1, None)
        yield render.messages(turns, meta), gr.skip(), turns, viewer, conversation.saved(turns), gr.skip()

    def open_citation(turns: list, evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        try:
            turn, cite = int(data["turn"]), int(data["cite"])
        except (KeyError, TypeError, ValueError):
            return gr.skip()
        return show(turns, turn, cite)

    def clear():
        """A fresh conversation; a question being typed stays in its box (it
        may be typed while this runs)."""
        return [], [], render.VIEWER_EMPTY, [], gr.update(visible=False, value=""), render.notice_html("")

    def restore(kept):
        """The conversation the browser kept, shown again on load, with the
        viewer on the last answer's first source."""
        turns = conversation.restored(kept)
        if not turns:
            return gr.skip(), gr.skip(), gr.skip()
        cited = [i for i, t in enumerate(turns) if t.get("answer") and t["answer"]["citations"]]
        viewer = show(turns, cited[-1], None) if cited else gr.skip()
        return render.messages(turns, doc_meta()), turns, viewer

    def export(turns: list):
        """The conversation as Markdown and JSON download links (data: URLs,
        so nothing is written on the server)."""
        kept = conversation.saved(turns)
        if not kept:
            note = '<p class="qa-export-note" role="status">Nothing to export yet: ask a question first.</p>'
            return gr.update(visible=True, value=note)
        now = datetime.now(timezone.utc)
        stem = f"groundqa-conversation-{now.strftime('%Y%m%d-%H%M')}"
        cited = sum(len(t["answer"]["citations"]) for t in kept if t.get("answer"))
        links = (download_link(stem + ".md", "text/markdown", conversation.markdown(turns, now), "Markdown (.md)")
                 + download_link(stem + ".json", "application/json", conversation.as_json(turns, now), "JSON (.json)"))
        what = f'{len(kept)} question{"s" if len(kept) != 1 else ""}, {cited} citation{"s" if cited != 1 else ""}'
        return gr.update(visible=True, value=f'<div class="qa-export-links" role="status">'
                                             f'<span>Export {what}:</span>{links}</div>')

    def scope_update(docs, chosen: list | None):
        """The chat's document filter for the library ``docs``, keeping
        what is still there of ``chosen``."""
        ids = {d.doc_id for d in docs}
        kept = [d for d in chosen or [] if d in ids]
        return gr.update(choices=[(f"{d.title} ({d.name})", d.doc_id) for d in docs], value=kept,
                         label=scope_label(len(kept), len(docs)))

    def scope_label(chosen: int, total: int) -> str:
        """The filter's label says what the next question searches."""
        if not total:
            return "Search in: no documents yet (add some under Documents)"
        if not chosen or chosen == total:
            everything = "the one document" if total == 1 else f"all {total} documents"
            return f"Search in: {everything} (choose some to narrow the question)"
        return f"Search in: {chosen} of {total} documents"

    def on_scope(chosen: list | None):
        return gr.update(label=scope_label(len(chosen or []), len(engine.documents())))

    # library -----------------------------------------------------------------
    def library_view(chosen: list | None = None):
        docs = engine.documents()
        choices = [(f"{d.title} ({d.name})", d.doc_id) for d in docs]
        return render.library_html(docs), gr.update(choices=choices, value=None), scope_update(docs, chosen)

    def on_upload(paths, chosen, progress=gr.Progress()):
        def report(step):
            progress(step.fraction, desc=step.describe())

        outcomes = library.upload([(Path(p), Path(p).name) for p in paths or []], report)
        lines = [("ok" if o.status in ("added", "replaced") else "same" if o.ok else "error", o.message)
                 for o in outcomes]
        return (render.status_html(lines), *library_view(chosen), None)

    def ask_remove(doc_id: str | None):
        """Outputs: the status line, the confirmation row, its question."""
        info = engine.store.info(doc_id) if doc_id else None
        if info is None:
            return (render.status_html([("error", "Choose a document to remove first.")]), gr.update(visible=False),
                    gr.skip())
        return "", gr.update(visible=True), render.confirm_html(info)

    def on_remove(doc_id: str | None, chosen):
        hide = gr.update(visible=False)
        if not doc_id:
            return (render.status_html([("error", "Choose a document to remove first.")]), *library_view(chosen), hide)
        outcome = library.remove(doc_id)
        return (render.status_html([("ok" if outcome.ok else "error", outcome.message)]), *library_view(chosen), hide)

    # API -----------------------------------------------------------------------
    def answer(question: str, history: list[str] | str | None = None, top_k: int = default_k,
               documents: list[str] | None = None) -> dict:
        """Answer ``question`` from the indexed documents.  ``history``: the
        earlier questions of the conversation, oldest first (a list or its
        JSON).  ``documents``: the doc_ids to search (None or empty: all).
        Returns ``Answer.to_dict()``; its ``judgement`` is "confident",
        "tentative" or "abstained"."""
        if isinstance(history, str):
            try:
                history = json.loads(history) if history.strip() else []
            except json.JSONDecodeError:
                raise refused("history must be a list of earlier questions, or that list as JSON") from None
        try:
            return answered(question, history=history or None, top_k=int(top_k or default_k),
                            documents=documents or None).to_dict()
        except (ValueError, RuntimeError) as err:
            raise refused(str(err)) from None

    def upload(file: dict) -> dict:
        """Index one file (.txt, .md, .html, .pdf or .docx); pass it with
        ``gradio_client.handle_file(path)``.  Returns {name, status, message,
        doc_id}; status is added, replaced, unchanged or rejected."""
        if not isinstance(file, dict) or not file.get("path"):
            raise refused("send the file with gradio_client.handle_file(path)")
        path = Path(str(file["path"]))
        if not is_in_or_equal(path, get_upload_folder()):
            raise refused("send the file with gradio_client.handle_file(path); server paths are not accepted")
        return library.upload([(path, file.get("orig_name") or path.name)])[0].to_dict()

    def remove(doc_id: str) -> dict:
        """Remove a document (and its uploaded copy).  Returns {name, status,
        message, doc_id}; status is removed or missing."""
        return library.remove(doc_id).to_dict()

    def documents() -> list[dict]:
        """The indexed documents: doc_id, title, date, sentences, chunks,
        name (the file's), kind (its type), pages (a PDF's) and added (when,
        UTC)."""
        return [{"doc_id": d.doc_id, "title": d.title, "date": d.date, "sentences": d.sentences, "chunks": d.chunks,
                 "name": d.name, "kind": d.kind, "pages": d.pages, "added": d.added}
                for d in engine.documents()]

    def document(doc_id: str) -> dict:
        """One document's text (citation offsets index into it) and its
        sentence spans [index, start, end]."""
        found = engine.document(doc_id)
        if found is None:
            raise refused(f"There is no document {doc_id!r}.")
        doc, spans = found
        return {"doc_id": doc.doc_id, "title": doc.title, "date": doc.date, "text": doc.text,
                "sentences": [[s.index, s.start, s.end] for s in spans]}

    # layout --------------------------------------------------------------------
    private = {"api_visibility": "private"}
    docs = engine.documents()
    with gr.Blocks(title="groundqa") as demo:
        turns = gr.State([])
        kept = gr.BrowserState([], storage_key="groundqa-conversation",
                               secret=browser_secret(engine.settings.data_dir))
        gr.HTML(render.HEADER, elem_id="qa-header")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=6, min_width=380):
                        with gr.Row(equal_height=False, elem_id="qa-chat-bar"):
                            scope = gr.Dropdown(
                                [(f"{d.title} ({d.name})", d.doc_id) for d in docs], value=[], multiselect=True,
                                label=scope_label(0, len(docs)), elem_id="qa-scope", scale=5, min_width=220,
                            )
                            with gr.Column(scale=2, min_width=170, elem_id="qa-chat-actions"):
                                clear_button = gr.Button("Clear conversation", variant="secondary", size="sm",
                                                         elem_id="qa-clear")
                                export_button = gr.Button("Export conversation", variant="secondary", size="sm",
                                                          elem_id="qa-export-button")
                        exported = gr.HTML("", elem_id="qa-export", apply_default_css=False, visible=False)
                        chatbot = gr.Chatbot(
                            label="Conversation", elem_id="qa-chat", height=470, render_markdown=False,
                            sanitize_html=True, latex_delimiters=[], feedback_options=None, buttons=[],
                            allow_file_downloads=False, autoscroll=True,
                            placeholder="Answers appear here, every sentence with its source: [1], [2]…",
                        )
                        notice = gr.HTML(render.notice_html(""), elem_id="qa-notice", apply_default_css=False,
                                         js_on_load=(STATIC / "chat.js").read_text().replace("__LIMIT__", str(limit)))
                        with gr.Row(equal_height=False, elem_id="qa-ask-row"):
                            question = gr.Textbox(
                                label="Question", elem_id="qa-question", lines=1, max_lines=4, scale=8,
                                placeholder="Ask about your documents, then press Enter",
                            )
                            ask_button = gr.Button("Ask", variant="primary", scale=1, min_width=90,
                                                   elem_id="qa-ask")
                        examples = gr.Examples(EXAMPLES, inputs=[question], label="Example questions (seed article)",
                                               examples_per_page=len(EXAMPLES))
                    with gr.Column(scale=5, min_width=340):
                        viewer = gr.HTML(render.VIEWER_EMPTY, label="Source viewer", elem_id="qa-viewer",
                                         js_on_load=(STATIC / "viewer.js").read_text(), apply_default_css=False)
            with gr.Tab("Documents", id="documents"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        library_table = gr.HTML(render.library_html(docs), label="Indexed documents",
                                                elem_id="qa-library", apply_default_css=False)
                    with gr.Column(scale=2):
                        files = gr.File(label=f"Add documents ({ACCEPTED}; up to {size_text(MAX_FILE_BYTES)} each)",
                                        file_count="multiple", type="filepath",
                                        elem_id="qa-upload", height=170)
                        status = gr.HTML("", label="Upload status", elem_id="qa-status", apply_default_css=False)
                        remove_choice = gr.Dropdown(label="Document to remove", choices=[], value=None,
                                                    elem_id="qa-remove-choice", interactive=True)
                        remove_button = gr.Button("Remove document…", variant="stop", size="md", elem_id="qa-remove")
                        with gr.Group(visible=False, elem_id="qa-confirm") as confirm:
                            confirm_text = gr.HTML("", elem_id="qa-confirm-text", apply_default_css=False)
                            with gr.Row():
                                confirm_yes = gr.Button("Yes, remove it", variant="stop", size="sm",
                                                        elem_id="qa-confirm-yes")
                                confirm_no = gr.Button("Cancel", variant="secondary", size="sm",
                                                       elem_id="qa-confirm-no")
            with gr.Tab("Settings", id="settings"):
                with gr.Column(elem_id="qa-settings"):
                    top_k = gr.Slider(1, 20, value=default_k, step=1, label="Passages retrieved (top_k)",
                                      info="How many chunks the retriever hands to the answerer.",
                                      elem_id="qa-top-k")
                    reader = gr.Dropdown([(READER_LABELS[r], r) for r in available], value=engine.reader.name,
                                         label="Reader",
                                         info="Who decides which retrieved sentences answer, and when the "
                                              "documents do not say. Answers always quote them verbatim.",
                                         elem_id="qa-reader")

        ask = {"fn": respond, "inputs": [question, turns, top_k, reader, scope],
               "outputs": [chatbot, question, turns, viewer, kept, notice], "show_progress": "hidden", **private}
        question.submit(**ask)
        ask_button.click(**ask)
        examples.load_input_event.then(**ask)
        viewer.click(open_citation, inputs=[turns], outputs=[viewer], show_progress="hidden", **private)
        cleared = [chatbot, turns, viewer, kept, exported, notice]
        clear_button.click(clear, outputs=cleared, **private)
        chatbot.clear(clear, outputs=cleared, **private)
        export_button.click(export, inputs=[turns], outputs=[exported], show_progress="hidden", **private)
        scope.change(on_scope, inputs=[scope], outputs=[scope], show_progress="hidden", **private)
        files.upload(on_upload, inputs=[files, scope],
                     outputs=[status, library_table, remove_choice, scope, files],
                     show_progress_on=[files], **private)
        remove_button.click(ask_remove, inputs=[remove_choice], outputs=[status, confirm, confirm_text], **private)
        remove_choice.change(lambda: gr.update(visible=False), outputs=[confirm], show_progress="hidden", **private)
        confirm_no.click(lambda: gr.update(visible=False), outputs=[confirm], show_progress="hidden", **private)
        confirm_yes.click(on_remove, inputs=[remove_choice, scope],
                          outputs=[status, library_table, remove_choice, scope, confirm], **private)
        demo.load(library_view, inputs=[scope], outputs=[library_table, remove_choice, scope], **private)
        demo.load(restore, inputs=[kept], outputs=[chatbot, turns, viewer], **private)

        gr.api(answer, api_name="answer")
        gr.api(upload, api_name="upload")
        gr.api(remove, api_name="remove")
        gr.api(documents, api_name="documents")
        gr.api(document, api_name="document")
    demo.queue(max_size=engine.settings.queue_size)  # past it, 503 "queue is full", not a pile in memory
    return demo


def launch(engine, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the UI until interrupted; prints the URL once it answers."""
    demo = build(engine)
    _, url, _ = demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                            **launch_options())
    print(f"groundqa is ready at {url}  (Ctrl-C to stop)", flush=True)
    demo.block_thread()
