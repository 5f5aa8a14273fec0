"""The chat as people expect it, in a real Chromium against the real app:
three kinds of answer that look different, a question that is too long
said so (never cut), a conversation that survives a reload, a Copy button
and an export, a document filter, a library people recognise, removal that
asks first, upload progress that moves, and a cited PDF page that can be
enlarged.

The app runs in this process on its own data directory, with the shipped
reader and its bars (abstain below 0.3, confident from 0.82)."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and os.geteuid() != 0:
    pytest.skip("/usr/bin/chromium is missing and installing it needs root: run `sudo bash scripts/ensure-chromium`",
                allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

DATA = Path(__file__).parent / "data"
SURE = "How many times stronger than morphine is fentanyl?"  # p = 0.87
NEAR_MISS = "What is the street price of fentanyl?"  # p = 0.73: not said, tentative
OFF_TOPIC = "What is the capital of Peru?"
OTTERS = "# Sea otters\n\nSea otters hold hands while they sleep so that they do not drift apart.\n"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `bash scripts/ensure-chromium` (make test does)")
    from evals.served import free_port
    from qa.engine import Engine
    from qa.settings import Settings
    from ui.app import build, launch_options

    engine = Engine(Settings.from_env(data_dir=tmp_path_factory.mktemp("ui-chat") / "data"))
    demo = build(engine)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    yield engine, f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def page(app):
    _, url = app
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(url)
        page.get_by_role("textbox", name="Question").wait_for()
        yield page
        browser.close()


REPLIES = "#qa-chat .qa-answer, #qa-chat .qa-abstain, #qa-chat .qa-error"
DONE = "#qa-chat .qa-sources, #qa-chat .qa-abstain, #qa-chat .qa-error"


def ask(page, question: str):
    before = page.locator(DONE).count()
    box = page.get_by_role("textbox", name="Question")
    box.fill(question)
    box.press("Enter")
    expect(page.locator(DONE)).to_have_count(before + 1, timeout=60_000)
    return page.locator(REPLIES).nth(before)


def clear(page):
    page.get_by_role("button", name="Clear conversation").click()
    expect(page.locator(REPLIES)).to_have_count(0)


def test_three_kinds_of_answer_look_different(page):
    clear(page)
    sure, near, off = ask(page, SURE), ask(page, NEAR_MISS), ask(page, OFF_TOPIC)
    expect(sure).not_to_have_class(re.compile(r"qa-tentative"))
    expect(sure.locator(".qa-kind")).to_have_text(re.compile(r"^Confident answer \(p = 0\.\d\d\)$"))
    expect(sure.locator(".qa-answer-text strong.qa-short")).to_have_count(1)  # bold only when sure

    expect(near).to_have_class(re.compile(r"\bqa-tentative\b"))
    expect(near.locator(".qa-tentative-lead")).to_have_text("The documents may not answer this. The closest sentence:")
    expect(near.locator(".qa-kind")).to_have_text(re.compile(r"^Tentative answer \(p = 0\.\d\d\)$"))
    expect(near.locator("strong")).to_have_count(0)
    expect(near.locator(".qa-answer-text .qa-cite")).not_to_have_count(0)

    expect(off).to_have_class(re.compile(r"\bqa-abstain\b"))
    expect(off.locator(".qa-abstain-badge")).to_contain_text("Not in the documents")
    expect(off.locator(".qa-cite")).to_have_count(0)
    colours = [el.evaluate("e => getComputedStyle(e).borderLeftColor + getComputedStyle(e).borderLeftStyle")
               for el in (sure, near, off)]
    assert len(set(colours)) == 3, colours
    expect(page.get_by_role("button", name="Clear conversation")).to_be_in_viewport()  # at 1280 x 900


def test_a_conversation_survives_a_reload_and_clearing_forgets_it(page):
    clear(page)
    ask(page, "Who is Ruan Zongze?")
    ask(page, "What did he say about drug dealers?")
    before = [squash(t) for t in page.locator(REPLIES).all_inner_texts()]
    page.reload()
    page.get_by_role("textbox", name="Question").wait_for()
    expect(page.locator(REPLIES)).to_have_count(2)
    assert [squash(t) for t in page.locator(REPLIES).all_inner_texts()] == before
    expect(page.locator("#qa-viewer mark#qa-current")).to_be_visible()  # the last answer's source is open again
    follow = ask(page, "Where does he work?")  # the restored turns are the history
    expect(follow.locator(".qa-cite").first).to_be_visible()
    page.locator(REPLIES).first.locator(".qa-answer-text .qa-cite").first.click()
    expect(page.locator("#qa-viewer mark#qa-current")).to_have_class(re.compile(r"\bqa-ref-0-1\b"))

    clear(page)
    page.reload()
    page.get_by_role("textbox", name="Question").wait_for()
    page.wait_for_timeout(1000)
    expect(page.locator(REPLIES)).to_have_count(0)


def test_copy_and_export_carry_the_citations(page, app, seed_text):
    engine, _ = app
    clear(page)
    answer = ask(page, SURE)
    ask(page, OFF_TOPIC)
    answer.get_by_role("button", name="Copy").click()
    expect(answer.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"**Q:** {SURE}\n") and re.search(r"\*Confident answer \(p = 0\.\d\d\)\*", copied)
    assert re.search(r"\[1\] “Fentanyl is a powerful .*” — .* \(000-e110c866457404a4, characters 1333–1533; "
                     r"p = 0\.\d\d\)", copied)

    page.get_by_role("button", name="Export conversation").click()
    links = page.locator("#qa-export a.qa-download")
    expect(links).to_have_count(2)
    expect(page.locator("#qa-export")).to_contain_text("Export 2 questions, 1 citation")
    with page.expect_download() as got:
        links.nth(0).click()
    markdown = Path(got.value.path()).read_text(encoding="utf-8")
    assert got.value.suggested_filename.endswith(".md")
    assert markdown.startswith("# groundqa conversation") and f"**Q:** {SURE}" in markdown
    assert "Not in the documents (closest p = " in markdown and "characters 1333–1533" in markdown
    href = links.nth(1).get_attribute("href")
    exported = json.loads(base64.b64decode(href.split(",", 1)[1]).decode("utf-8"))
    first, second = exported["turns"]
    assert first["question"] == SURE and first["answer"]["judgement"] == "confident"
    for c in first["answer"]["citations"]:
        assert seed_text[c["start"]:c["end"]] == c["text"] and c["doc_id"] == "000-e110c866457404a4"
    assert second["answer"]["judgement"] == "abstained" and "retrieved" not in first["answer"]
    assert engine.documents()


def test_a_long_question_is_counted_and_refused_never_cut(page):
    clear(page)
    box = page.get_by_role("textbox", name="Question")
    count = page.locator("#qa-notice .qa-count")
    box.fill("fentanyl " * 100)  # 900 characters: far from the limit, nothing shown
    expect(count).to_have_text("")
    box.fill("x" * 1700)
    expect(count).to_have_text("1,700 / 2,000 characters")
    long = "Who is Ruan Zongze? " + "y" * 2100
    box.fill(long)
    expect(count).to_have_text(f"{len(long):,} / 2,000 characters: {len(long) - 2000:,} too many. "
                               "Shorten the question to ask it.")
    assert box.input_value() == long  # the box kept every character
    box.press("Enter")
    expect(page.locator("#qa-notice .qa-refusal")).to_have_text(
        f"This question is {len(long):,} characters long; the limit is 2,000. "
        f"Shorten it by {len(long) - 2000:,} characters and ask again.")
    assert box.input_value() == long
    expect(page.locator("#qa-chat .qa-question")).to_have_count(0)  # nothing joined the conversation
    box.fill("Who is Ruan Zongze?")
    box.press("Enter")
    expect(page.locator(DONE)).to_have_count(1, timeout=60_000)
    expect(page.locator("#qa-notice .qa-refusal")).to_have_count(0)
    expect(count).to_have_text("")


def test_uploads_show_moving_progress_and_the_library_says_what_each_document_is(page, tmp_path):
    """A 26-page PDF: the progress names it, counts its pages and then its
    sentences, estimates the time left, and its percentage climbs through
    the middle; the library then lists its file name, type, pages and when
    it was added."""
    page.get_by_role("tab", name="Documents").click()
    page.evaluate("""() => {
        window.__qaSeen = [];
        const root = document.querySelector('#qa-upload');
        new MutationObserver(() => window.__qaSeen.push(root.innerText))
            .observe(root, {subtree: true, childList: true, characterData: true});
    }""")
    page.locator("#qa-upload input[type=file]").set_input_files(str(DATA / "camlidl-manual.pdf"))
    expect(page.locator("#qa-status")).to_contain_text("Added camlidl-manual.pdf", timeout=120_000)
    seen = "\n".join(page.evaluate("window.__qaSeen"))
    assert re.search(r"Reading camlidl-manual\.pdf: page \d+ of 26 · (about \d+ s|a moment) left", seen)
    assert re.search(r"Embedding camlidl-manual\.pdf: [\d,]+ of 640 sentences · (about \d+ s|a moment) left", seen)
    percents = {float(p) for p in re.findall(r"left - (\d+\.\d)%", seen)}
    assert any(20 <= p <= 80 for p in percents) and len(percents) >= 3, sorted(percents)

    otters = tmp_path / "Sea otters (notes).md"
    otters.write_text(OTTERS)
    page.locator("#qa-upload input[type=file]").set_input_files(str(otters))
    expect(page.locator("#qa-status")).to_contain_text("Added Sea otters (notes).md", timeout=60_000)
    row = page.locator("#qa-library tbody tr", has_text="camlidl-manual.pdf")
    expect(row.locator(".qa-lib-name")).to_have_text("camlidl-manual")
    expect(row.locator(".qa-lib-kind")).to_have_text("PDF")
    expect(row).to_contain_text("26 pages · 640 sentences")
    expect(row).to_contain_text(re.compile(r"20\d\d-\d\d-\d\d \d\d:\d\d UTC"))
    expect(page.locator("#qa-library tbody tr", has_text="Sea otters (notes).md").locator(".qa-lib-kind")).to_have_text(
        "Markdown")


def test_the_chat_says_what_it_searches_and_narrows_a_question(page):
    page.get_by_role("tab", name="Chat").click()
    clear(page)
    scope = page.locator("#qa-scope")
    expect(scope).to_contain_text("Search in: all 3 documents")
    wide = ask(page, "Why do sea otters hold hands?")
    expect(wide.locator(".qa-source-meta").first).to_contain_text("Sea otters")
    page.get_by_label(re.compile("Search in")).click()
    page.get_by_role("option", name=re.compile("camlidl-manual")).click()
    page.keyboard.press("Escape")
    expect(scope).to_contain_text("Search in: 1 of 3 documents")
    narrow = ask(page, "Why do sea otters hold hands?")
    expect(narrow.locator(".qa-scope-note")).to_have_text("Searched only: camlidl-manual")
    for meta in narrow.locator(".qa-source-meta").all():
        expect(meta).to_contain_text("camlidl-manual")
    page.locator("#qa-scope").get_by_role("button", name=re.compile("Clear|Remove", re.I)).first.click()
    expect(scope).to_contain_text("Search in: all 3 documents")


def test_a_cited_pdf_page_fills_the_viewer_and_can_be_enlarged(page):
    clear(page)
    ask(page, "What does Camlidl generate?")
    viewer = page.locator("#qa-viewer")
    image = viewer.locator(".qa-page-img")
    expect(image).to_be_visible()
    pane = viewer.locator(".qa-pages").bounding_box()
    shown = image.bounding_box()
    assert shown["width"] >= pane["width"] - 30  # the page spans the viewer
    current = viewer.locator(".qa-box-current").first.bounding_box()
    viewer.get_by_role("button", name="Enlarge").click()
    dialog = page.get_by_role("dialog", name=re.compile(r"Page \d+, enlarged"))
    expect(dialog).to_be_visible()
    big = dialog.locator("img").bounding_box()
    assert big["width"] > 1.5 * shown["width"]
    box = dialog.locator(".qa-box-current").first.bounding_box()
    for a, b, scale_of in ((box["x"] - big["x"], current["x"] - shown["x"], "width"),
                           (box["width"], current["width"], "width")):
        assert abs(a / big[scale_of] - b / shown[scale_of]) < 0.01  # the same place on the page
    expect(dialog.locator(".qa-box-current").first).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)


def test_removal_asks_first(page):
    page.get_by_role("tab", name="Documents").click()
    rows = page.locator("#qa-library tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Document to remove").click()
    page.get_by_role("option", name=re.compile("Sea otters")).click()
    page.get_by_role("button", name="Remove document…").click()
    confirm = page.locator("#qa-confirm-text")
    expect(confirm).to_be_visible()
    # Its heading is the sentence's section, not a sentence of its own.
    expect(confirm).to_contain_text("Remove Sea otters (Sea otters (notes).md)? Its 1 sentence will no longer")
    page.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(rows).to_have_count(3)
    page.get_by_role("button", name="Remove document…").click()
    page.get_by_role("button", name="Yes, remove it").click()
    expect(page.locator("#qa-status")).to_contain_text("Removed Sea otters")
    expect(rows).to_have_count(2)
    expect(confirm).to_be_hidden()
    page.get_by_role("tab", name="Chat").click()
    expect(page.locator("#qa-scope")).to_contain_text("Search in: all 2 documents")


def squash(text: str) -> str:
    return " ".join(text.split())
