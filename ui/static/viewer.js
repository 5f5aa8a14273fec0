// js_on_load of the source viewer (a gr.HTML): `element`, `trigger` and
// `watch` are provided by Gradio.
//
// Citation markers are in the chat, in the viewer's chips and on its
// highlights, each with a class qa-ref-TURN-CITE (the chat's sanitizer keeps
// classes, not data- attributes).  One capturing listener on the document
// turns a click on any of them into the viewer's "click" event with
// {turn, cite}.  The latest `trigger` is kept on window so a re-mounted
// viewer keeps receiving clicks.
window.__qaTrigger = trigger;
if (!window.__qaCitationClicks) {
  window.__qaCitationClicks = true;
  document.addEventListener("click", (event) => {
    const el = event.target instanceof Element ? event.target.closest(".qa-cite, .qa-hl") : null;
    const ref = el && /(?:^|\s)qa-ref-(\d+)-(\d+)(?:\s|$)/.exec(el.className);
    if (!ref) return;
    event.preventDefault();
    event.stopPropagation();
    window.__qaTrigger("click", { turn: Number(ref[1]), cite: Number(ref[2]) });
  }, true);
}

// Scroll the citation being looked at into the middle third of the document
// pane (not the whole page), bring the viewer itself into view if needed, and
// make that citation's markers in the chat stand out too.
function reveal() {
  const box = element.querySelector(".qa-doc-text");
  const mark = element.querySelector("#qa-current");
  const ref = mark && /(?:^|\s)(qa-ref-\d+-\d+)(?:\s|$)/.exec(mark.className);
  document.querySelectorAll("#qa-chat .qa-cite").forEach((el) => {
    el.classList.toggle("qa-current", Boolean(ref) && el.classList.contains(ref[1]));
  });
  if (!box || !mark) return;
  box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
  const r = element.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight - 80) element.scrollIntoView({ block: "start", behavior: "smooth" });
}
watch("value", reveal);
reveal();
