"""The chat UI in a real Chromium (Debian's, driven by Playwright) against a
real ``qa serve``: ask, read the cited answer, open a citation in the source
viewer, upload a hostile document and see it shown as text, all without a
request leaving the machine.  Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest_ui import SCREENSHOTS, qa_serve

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and os.geteuid() != 0:
    pytest.skip("/usr/bin/chromium is missing and installing it needs root: run `sudo bash scripts/ensure-chromium`",
                allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

HOSTILE_HTML = """<!doctype html>
<html><head><title>&lt;img src=x onerror=alert(4)&gt; Quokka facts</title>
<script>alert(1)</script></head>
<body>
<h1>Quokka facts <img src=x onerror=alert(2)></h1>
<p>The quokka is a small marsupial that lives on Rottnest Island near Perth.</p>
<p>A quokka sentence quoting code: &lt;script&gt;alert(1)&lt;/script&gt; is printed here as plain text.</p>
<p>Quokkas never click a link such as [click](javascript:alert(3)) or an image like &lt;img src=x onerror=alert(2)&gt;.</p>
<p><a href="javascript:alert(5)">Quokka link</a> <svg onload=alert(6)></svg></p>
</body></html>
"""
LITERALS = ["<script>alert(1)</script>", "[click](javascript:alert(3))", "<img src=x onerror=alert(2)>"]
HOSTILE_TITLE = "<img src=x onerror=alert(4)> Quokka facts"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `bash scripts/ensure-chromium` (make test does)")
    with qa_serve(tmp_path_factory.mktemp("ui-browser") / "data") as served:
        yield served


@pytest.fixture(scope="module")
def session(server):
    """One page for the module, with every request and dialog it caused."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    requests, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server.url, wait_until="load")
        page.get_by_role("textbox", name="Question").wait_for()
        yield page, requests, dialogs
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def ask(page, question: str):
    """Type ``question``, press Enter, return the new assistant message once
    it is complete (an answer with its sources, or an abstention)."""
    replies = page.locator("#qa-chat .qa-answer, #qa-chat .qa-abstain, #qa-chat .qa-error")
    done = page.locator("#qa-chat .qa-sources, #qa-chat .qa-abstain, #qa-chat .qa-error")
    before = replies.count()
    box = page.get_by_role("textbox", name="Question")
    box.fill(question)
    box.press("Enter")
    expect(done).to_have_count(before + 1, timeout=30_000)
    return replies.nth(before)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_ask_then_open_a_citation(session):
    page, _, _ = session
    first = ask(page, "How many people were arrested in China in 2017?")
    markers = first.locator(".qa-answer-text .qa-cite")
    assert markers.count() >= 1
    for sentence in first.locator(".qa-sentence").all():  # each sentence is followed by its markers
        assert sentence.evaluate("s => s.nextElementSibling && s.nextElementSibling.matches('.qa-cite')")
    expect(first.locator(".qa-sources li").first).to_contain_text("2018-09-24")
    expect(first.locator(".qa-sources li").first).to_contain_text(re.compile(r"p = (0\.[5-9]\d|1\.00)"))
    short = first.locator(".qa-answer-text strong.qa-short")  # the short answer, bold inside its sentence
    expect(short).to_have_count(1)
    assert squash(short.inner_text()) in squash(first.locator(".qa-sentence").first.inner_text())
    shot(page, "01-answer.png")

    second = ask(page, "What did Donald Trump tweet?")  # the viewer now shows this answer's first source
    current = page.locator("#qa-viewer mark#qa-current")
    expect(current).to_have_class(re.compile(r"\bqa-ref-1-1\b"))
    assert squash(current.inner_text()) == squash(second.locator(".qa-sources .qa-quote").first.inner_text())

    markers.first.click()  # back to the first answer's citation
    expect(current).to_have_class(re.compile(r"\bqa-ref-0-1\b"))
    expect(current).to_be_in_viewport()
    assert squash(current.inner_text()) == squash(first.locator(".qa-sources .qa-quote").first.inner_text())
    expect(page.locator("#qa-viewer .qa-chips .qa-cite.qa-current")).to_have_count(1)
    expect(page.locator("#qa-viewer .qa-viewer-kicker")).to_contain_text("Citation [1]")
    shot(page, "02-source-viewer.png")


def test_examples_follow_up_and_clear(session):
    page, _, _ = session
    before = page.locator("#qa-chat .qa-sources, #qa-chat .qa-abstain").count()
    page.get_by_role("button", name="Who is Ruan Zongze?").click()
    expect(page.locator("#qa-chat .qa-sources, #qa-chat .qa-abstain")).to_have_count(before + 1, timeout=30_000)
    expect(page.locator("#qa-chat .qa-answer").last).to_contain_text("Ruan Zongze")

    follow = ask(page, "What did he say the US needs to tighten?")
    expect(follow.locator(".qa-cite").first).to_be_visible()
    unknown = ask(page, "What is the capital of France?")
    expect(unknown).to_have_class(re.compile(r"\bqa-abstain\b"))
    expect(unknown.locator(".qa-cite")).to_have_count(0)
    shot(page, "03-follow-up-and-abstention.png")

    page.get_by_role("button", name="Clear conversation").click()
    expect(page.locator("#qa-chat .qa-answer, #qa-chat .qa-abstain")).to_have_count(0)
    expect(page.locator("#qa-viewer .qa-viewer-empty")).to_be_visible()


def test_hostile_document_is_shown_as_text(session, tmp_path):
    page, _, dialogs = session
    hostile = tmp_path / "quokka.html"
    hostile.write_text(HOSTILE_HTML)
    bad_name = tmp_path / "<img src=x onerror=alert(9)>.xlsx"
    bad_name.write_bytes(b"PK\x03\x04")

    page.get_by_role("tab", name="Documents").click()
    upload = page.locator("#qa-upload input[type=file]")
    upload.set_input_files(str(hostile))
    expect(page.locator("#qa-status")).to_contain_text("Added quokka.html", timeout=60_000)
    library = page.locator("#qa-library")
    expect(library.get_by_text(HOSTILE_TITLE, exact=True)).to_be_visible()

    upload.set_input_files(str(hostile))
    expect(page.locator("#qa-status")).to_contain_text("already indexed and unchanged", timeout=60_000)
    expect(library.locator("tbody tr")).to_have_count(2)
    upload.set_input_files(str(bad_name))
    expect(page.locator("#qa-status")).to_contain_text("not supported", timeout=60_000)
    shot(page, "04-library.png")

    page.get_by_role("tab", name="Chat").click()
    typed = "<b>bold?</b> <img src=x onerror=alert(7)> Where does the quokka live?"
    ask(page, typed)
    expect(page.locator("#qa-chat").get_by_text(typed, exact=True)).to_be_visible()
    answer = ask(page, "Where does the quokka live?")
    expect(answer.locator(".qa-source-meta").first).to_contain_text(HOSTILE_TITLE)
    answer.locator(".qa-answer-text .qa-cite").first.click()
    viewer = page.locator("#qa-viewer")
    expect(viewer.locator(".qa-viewer-title")).to_have_text(HOSTILE_TITLE)
    expect(viewer.locator("mark#qa-current")).to_contain_text("Rottnest Island")
    text = viewer.locator(".qa-doc-text").inner_text()
    for literal in LITERALS:
        assert literal in text
    shot(page, "05-hostile-source.png")

    assert dialogs == []
    assert page.locator("img[src='x'], a[href^='javascript'], svg[onload], [onerror], [onload]").count() == 0
    assert page.locator("#qa-chat b, #qa-viewer b, #qa-library b").count() == 0
    assert page.evaluate("[...document.scripts].filter(s => s.textContent.includes('alert(')).length") == 0

    page.get_by_role("tab", name="Documents").click()
    page.get_by_label("Document to remove").click()
    page.get_by_role("option", name=re.compile("Quokka facts")).click()
    page.get_by_role("button", name="Remove document…").click()
    expect(page.locator("#qa-confirm-text")).to_contain_text(HOSTILE_TITLE)
    page.get_by_role("button", name="Yes, remove it").click()
    expect(page.locator("#qa-status")).to_contain_text("Removed", timeout=30_000)
    expect(library.locator("tbody tr")).to_have_count(1)
    assert dialogs == []


def _css_box(image: dict, rect, size) -> tuple[float, float, float, float]:
    """Where a PDF rectangle [page, x0, y0, x1, y1] (points, origin
    bottom-left) must appear over the rendered page: y flips with the height."""
    width, height = size
    _, x0, y0, x1, y1 = rect
    sx, sy = image["width"] / width, image["height"] / height
    return image["x"] + x0 * sx, image["y"] + (height - y1) * sy, (x1 - x0) * sx, (y1 - y0) * sy


def test_a_pdf_citation_shows_its_page_with_the_sentence_boxed(session, server):
    """Upload a real PDF, ask about it: the viewer shows the cited page with
    one box per line of the cited sentence where the rectangles say, around
    the centre of every character pdfium extracted for it; Text shows the
    extracted text with the same sentence marked, and Page comes back."""
    import pypdfium2 as pdfium
    from gradio_client import Client

    from index.load import load_file

    page, _, dialogs = session
    source = Path(__file__).parent / "data" / "camlidl-manual.pdf"
    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-upload input[type=file]").set_input_files(str(source))
    expect(page.locator("#qa-status")).to_contain_text("Added camlidl-manual.pdf", timeout=90_000)
    page.get_by_role("tab", name="Chat").click()

    question = "What does Camlidl generate?"
    answer = ask(page, question)
    cited = Client(server.url, verbose=False).predict(question, [], 4, api_name="/answer")["citations"][0]
    assert cited["doc_id"] == "camlidl-manual" and cited["rects"]
    viewer = page.locator("#qa-viewer")
    image = viewer.locator(".qa-page-img")
    expect(image).to_be_visible()
    expect(viewer.locator(".qa-page-number")).to_have_text(f"Page {cited['page']}")
    expect(viewer.locator(".qa-viewer-meta")).to_contain_text(f"page {cited['page']}")
    assert image.evaluate("i => i.complete && i.naturalWidth > 0 && i.src.startsWith('data:image/png;base64,')")
    shot(page, "07-pdf-page.png")

    pdf = pdfium.PdfDocument(str(source))
    size = pdf.get_page_size(cited["page"] - 1)
    img = image.bounding_box()
    boxes = [b.bounding_box() for b in viewer.locator(".qa-box-current").all()]
    on_page = [r for r in cited["rects"] if r[0] == cited["page"]]
    assert len(boxes) == len(on_page)
    for box, rect in zip(boxes, on_page):
        want = _css_box(img, rect, size)
        got = (box["x"], box["y"], box["width"], box["height"])
        assert all(abs(a - b) <= 1.0 for a, b in zip(got, want)), (got, want)

    doc = load_file(source)  # the characters behind the sentence, as pdfium extracted them
    assert doc.text[cited["start"]:cited["end"]] == cited["text"]
    textpage = pdf[cited["page"] - 1].get_textpage()
    for i in range(cited["start"], cited["end"]):
        if doc.layout.page[i] != cited["page"] or not doc.text[i].strip():
            continue
        x0, y0, x1, y1 = textpage.get_charbox(int(doc.layout.char[i]))
        mid = ((x0 + x1) / 2, (y0 + y1) / 2)
        cx, cy, _, _ = _css_box(img, [0, *mid, *mid], size)
        assert any(b["x"] <= cx <= b["x"] + b["width"] and b["y"] <= cy <= b["y"] + b["height"] for b in boxes)
    textpage.close()
    pdf.close()

    page.get_by_role("button", name="Text", exact=True).click()
    expect(viewer.locator(".qa-doc-text")).to_be_visible()
    expect(viewer.locator(".qa-pages")).to_be_hidden()
    expect(viewer.locator("mark#qa-current")).to_be_in_viewport()
    assert squash(viewer.locator("mark#qa-current").inner_text()) == squash(cited["text"])
    assert squash(answer.locator(".qa-sources .qa-quote").first.inner_text()) == squash(cited["text"])
    page.get_by_role("button", name="Page", exact=True).click()
    expect(image).to_be_visible()
    expect(viewer.locator(".qa-doc-text")).to_be_hidden()
    assert dialogs == []


def test_a_conversation_survives_a_server_restart(session, tmp_path):
    """The browser keeps the conversation, encrypted with a key the data
    directory keeps: a restarted server on the same address shows it again
    and goes on from it."""
    from urllib.parse import urlsplit

    context = session[0].context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        with qa_serve(tmp_path / "data") as first:
            page.goto(first.url)
            answer = ask(page, "Who is Ruan Zongze?")
            said = squash(answer.inner_text())
        with qa_serve(tmp_path / "data", port=urlsplit(first.url).port) as second:
            page.goto(second.url)
            restored = page.locator("#qa-chat .qa-answer")
            expect(restored).to_have_count(1, timeout=30_000)
            assert squash(restored.inner_text()) == said
            follow = ask(page, "What did he say about drug dealers?")
            expect(follow.locator(".qa-sources li").first).to_contain_text("drug dealers")
    finally:
        context.close()


UNLABELLED = """() => [...document.querySelectorAll('input, textarea, select, button')]
  .filter(e => e.getClientRects().length)
  .filter(e => !((e.labels && [...e.labels].some(l => l.textContent.trim())) || e.getAttribute('aria-label')
                 || e.getAttribute('aria-labelledby') || e.title || (e.tagName === 'BUTTON' && e.textContent.trim())))
  .map(e => e.outerHTML.slice(0, 200))"""


def test_every_control_has_a_label(session):
    page, _, _ = session
    for tab in ("Chat", "Documents", "Settings"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab, selected=True)).to_be_visible()
        assert page.evaluate(UNLABELLED) == [], tab
    page.get_by_role("tab", name="Chat").click()


def test_settings_list_only_available_readers(session):
    page, _, _ = session
    page.get_by_role("tab", name="Settings").click()
    expect(page.get_by_label("Passages retrieved (top_k)").first).to_be_visible()
    page.get_by_role("combobox", name="Reader").click()
    expect(page.get_by_role("option")).to_have_count(2)  # no LLM is configured
    expect(page.get_by_role("option").first).to_contain_text("cross-encoder")
    page.keyboard.press("Escape")
    shot(page, "06-settings.png")


def test_no_request_left_the_machine(session):
    _, requests, _ = session
    assert requests
    outside = [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname not in LOOPBACK]
    assert outside == []
