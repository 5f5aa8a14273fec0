"""The README's screenshots of the chat (docs/ui-*.png), taken in Debian's
Chromium from a real ``qa serve`` app on a fresh data directory:

    .venv/bin/python scripts/screenshots.py

The three kinds of answer (with the shipped reader's bars), an upload of a
143-page PDF about half way, a cited PDF page enlarged and the chat around
it.  PNGs are reduced to 256 colours to stay small.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import offline  # noqa: E402

offline.enforce()

DOCS = ROOT / "docs"
PDF = ROOT / "tests" / "data" / "debmake-doc.en.pdf"
#: Gradio's progress text when the upload is about half way.
HALF = re.compile(r"Embedding .* - (4[5-9]|5[0-5])\.\d%")
QUESTIONS = {
    "ui-confident.png": "How many times stronger than morphine is fentanyl?",
    "ui-tentative.png": "What is the street price of fentanyl?",
    "ui-abstained.png": "What is the capital of Peru?",
}


def small(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from evals.served import free_port
    from qa.engine import Engine
    from qa.settings import Settings
    from ui.app import build, launch_options

    engine = Engine(Settings.from_env(data_dir=Path(tempfile.mkdtemp(prefix="groundqa-shots-")) / "data"))
    demo = build(engine)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            box = page.get_by_role("textbox", name="Question")
            box.wait_for()
            for name, question in QUESTIONS.items():
                page.get_by_role("button", name="Clear conversation").click()
                expect(page.locator("#qa-chat .qa-answer, #qa-chat .qa-abstain")).to_have_count(0)
                box.fill(question)
                box.press("Enter")
                done = page.locator("#qa-chat .qa-sources, #qa-chat .qa-abstain")
                expect(done).to_have_count(1, timeout=60_000)
                page.locator("#qa-chat").screenshot(path=str(DOCS / name))
                small(DOCS / name)

            page.get_by_role("tab", name="Documents").click()
            page.locator("#qa-upload input[type=file]").set_input_files(str(PDF))
            for _ in range(3000):
                if HALF.search(" ".join(page.locator("#qa-upload").inner_text().split())):
                    break
                page.wait_for_timeout(100)
            else:
                raise SystemExit("the upload's progress never showed about half way")
            page.screenshot(path=str(DOCS / "ui-upload-progress.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 560})
            small(DOCS / "ui-upload-progress.png")
            expect(page.locator("#qa-status")).to_contain_text("Added", timeout=300_000)

            page.get_by_role("tab", name="Chat").click()
            page.get_by_role("button", name="Clear conversation").click()
            box.fill("What does debmake generate?")
            box.press("Enter")
            expect(page.locator("#qa-viewer .qa-page-img")).to_be_visible(timeout=60_000)
            page.locator("#qa-viewer .qa-zoom").first.click()
            expect(page.locator(".qa-lightbox .qa-box-current").first).to_be_visible()
            page.wait_for_timeout(300)
            page.screenshot(path=str(DOCS / "ui-enlarged-page.png"))
            page.keyboard.press("Escape")
            page.screenshot(path=str(DOCS / "ui-chat.png"))
            small(DOCS / "ui-chat.png")
            small(DOCS / "ui-enlarged-page.png")
            browser.close()
    finally:
        demo.close()
    for name in [*QUESTIONS, "ui-upload-progress.png", "ui-enlarged-page.png", "ui-chat.png"]:
        print(f"docs/{name}: {(DOCS / name).stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
