// js_on_load of the source viewer (a gr.HTML): `element`, `trigger` and
// `watch` are provided by Gradio.
//
// Citation markers are in the chat, in the viewer's chips, on its text
// highlights and on its page boxes, each with a class qa-ref-TURN-CITE (the
// chat's sanitizer keeps classes, not data- attributes).  One capturing
// listener on the document turns a click on any of them into the viewer's
// "click" event with {turn, cite}.  The latest `trigger` is kept on window
// so a re-mounted viewer keeps receiving clicks.
//
// A PDF citation shows its page, with a Page/Text toggle.  The choice is
// kept on window, so the next citation opens the way the last one was seen;
// switching needs no round trip to the server.
window.__qaTrigger = trigger;
if (!window.__qaCitationClicks) {
  window.__qaCitationClicks = true;
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const toggle = target && target.closest("#qa-viewer .qa-view-btn");
    if (toggle) {
      window.__qaView = toggle.dataset.qaView;
      window.__qaReveal();
      return;
    }
    const el = target && target.closest(".qa-cite, .qa-hl, .qa-box");
    const ref = el && /(?:^|\s)qa-ref-(\d+)-(\d+)(?:\s|$)/.exec(el.className);
    if (!ref) return;
    event.preventDefault();
    event.stopPropagation();
    if (el.closest(".qa-lightbox")) window.__qaCloseZoom();
    window.__qaTrigger("click", { turn: Number(ref[1]), cite: Number(ref[2]) });
  }, true);
}

// Show the page or the text, as last chosen.  Returns the scrolling pane
// on show and the current citation's mark in it.
function applyView() {
  const pdf = element.querySelector(".qa-viewer-pdf");
  const text = !pdf || window.__qaView === "text";
  if (pdf) {
    pdf.classList.toggle("qa-show-text", text);
    pdf.querySelectorAll(".qa-view-btn").forEach((b) => {
      b.setAttribute("aria-pressed", String((b.dataset.qaView === "text") === text));
    });
  }
  return text
    ? [element.querySelector(".qa-doc-text"), element.querySelector("#qa-current")]
    : [element.querySelector(".qa-pages"), element.querySelector(".qa-box-current")];
}

// Scroll the citation being looked at into the middle third of its pane
// (not the whole page), bring the viewer itself into view if needed, and
// make that citation's markers in the chat stand out too.
function reveal() {
  const [box, mark] = applyView();
  const current = element.querySelector("#qa-current, .qa-box-current");
  const ref = current && /(?:^|\s)(qa-ref-\d+-\d+)(?:\s|$)/.exec(current.className);
  document.querySelectorAll("#qa-chat .qa-cite").forEach((el) => {
    el.classList.toggle("qa-current", Boolean(ref) && el.classList.contains(ref[1]));
  });
  if (!box || !mark) return;
  const offset = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
  box.scrollTop = Math.max(0, offset - box.clientHeight / 3);
  const r = element.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight - 80) element.scrollIntoView({ block: "start", behavior: "smooth" });
}
window.__qaReveal = reveal;
watch("value", reveal);
reveal();

// "Enlarge" on a PDF page opens it over the whole window, as wide as the
// window allows (the page is rendered at 2x, 1,224 pixels across a Letter
// page), with the same boxes; Esc, the Close button or a click beside the
// page closes it, and a click on a box opens that citation as in the viewer.
function closeZoom() {
  const open = document.querySelector(".qa-lightbox");
  if (!open) return;
  open.remove();
  if (window.__qaZoomFrom && document.contains(window.__qaZoomFrom)) window.__qaZoomFrom.focus();
}
window.__qaCloseZoom = closeZoom;

function openZoom(button) {
  closeZoom();
  const page = button.closest(".qa-page");
  const frame = page && page.querySelector(".qa-page-frame");
  if (!frame) return;
  const number = page.dataset.qaPage;
  const box = document.createElement("div");
  box.className = "qa-lightbox";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "true");
  box.setAttribute("aria-label", `Page ${number}, enlarged`);
  const bar = document.createElement("div");
  bar.className = "qa-lightbox-bar";
  const title = document.createElement("span");
  title.textContent = `Page ${number}`;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "qa-lightbox-close";
  close.textContent = "Close";
  close.title = "Close the enlarged page (Esc)";
  bar.append(title, close);
  const body = document.createElement("div");
  body.className = "qa-lightbox-body";
  body.appendChild(frame.cloneNode(true));
  box.append(bar, body);
  (document.querySelector(".gradio-container") || document.body).appendChild(box);
  window.__qaZoomFrom = button;
  close.focus();
  const current = body.querySelector(".qa-box-current");
  const img = body.querySelector("img");
  const centre = () => {
    if (!current) return;
    const offset = current.getBoundingClientRect().top - body.getBoundingClientRect().top + body.scrollTop;
    body.scrollTop = Math.max(0, offset - body.clientHeight / 3);
  };
  if (img && !img.complete) img.addEventListener("load", centre, { once: true });
  centre();
}

if (!window.__qaZoomListeners) {
  window.__qaZoomListeners = true;
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const zoom = target.closest("#qa-viewer .qa-zoom");
    if (zoom) {
      event.preventDefault();
      openZoom(zoom);
    } else if (target.closest(".qa-lightbox-close") || target.matches(".qa-lightbox, .qa-lightbox-body")) {
      closeZoom();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeZoom();
  });
}
