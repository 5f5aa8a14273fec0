// js_on_load of the chat's notice line under the question (a gr.HTML):
// `element`, `watch` are provided by Gradio; __LIMIT__ is replaced by the
// server with QA_MAX_QUESTION_CHARS.
//
// The question box has no maxlength: the browser would cut a pasted
// question without a word.  Instead the count shows here once the question
// nears the limit, and says how much to cut once it is over; the server
// refuses it with the same numbers and leaves it in the box.
//
// Each answer's Copy button copies the Markdown kept hidden beside it (the
// chat's sanitizer keeps classes, so one listener on the document does it).
const LIMIT = __LIMIT__;
const NEAR = Math.floor(LIMIT * 0.8);

function fmt(n) { return n.toLocaleString("en-US"); }

function count() {
  const box = document.querySelector("#qa-question textarea");
  const out = element.querySelector(".qa-count");
  if (!box || !out) return;
  const n = box.value.length;
  const over = n - LIMIT;
  out.classList.toggle("qa-over", over > 0);
  box.setAttribute("aria-invalid", String(over > 0));
  if (over > 0) {
    out.textContent = `${fmt(n)} / ${fmt(LIMIT)} characters: ${fmt(over)} too many. Shorten the question to ask it.`;
  } else if (n >= NEAR) {
    out.textContent = `${fmt(n)} / ${fmt(LIMIT)} characters`;
  } else {
    out.textContent = "";
  }
}
window.__qaCount = count;

async function copy(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");  // plain http on another host: the old way
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy refused");
}

if (!window.__qaChatListeners) {
  window.__qaChatListeners = true;
  document.addEventListener("input", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("#qa-question")) window.__qaCount();
  }, true);
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const button = target && target.closest("#qa-chat .qa-copy");
    if (!button) return;
    event.preventDefault();
    const source = button.parentElement.querySelector(".qa-copy-text");
    copy(source ? source.textContent : "").then(
      () => { button.textContent = "Copied"; },
      () => { button.textContent = "Copy failed"; },
    ).finally(() => setTimeout(() => { button.textContent = "Copy"; }, 1600));
  }, true);
}
watch("value", count);
count();
