"""Train the passage reader: MiniLM reads ``[CLS] question [SEP] heading | passage [SEP]``.

This module imports nothing of groundqa, only numpy, tokenizers, torch and
transformers, so the same file runs on the CPU here and on a lent GPU machine
(``python3 qa/training/trainer.py ...``); ``qa.training.data`` prepares its
input.  One pass over a passage scores every sentence in it at once:

* ``answerable``: a logit from ``[CLS]``, "does this passage answer?";
* ``evidence``: a logit per token; a sentence's logit is the mean over its
  tokens, "is this the sentence that answers?" (trained on sentences, pooled
  the same way at run time);
* ``start`` / ``end``: SQuAD 2.0's span logits, ``[CLS]`` meaning no span,
  which mark the short answer.

``form="sentence"`` trains the same model on one sentence at a time (the
input the first reader had), to compare the two at equal steps.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

MAX_TOKENS = 256
MAX_SPAN_TOKENS = 30
HEADING_SEP = " | "


@dataclass
class Config:
    data: str
    val: str
    tokenizer: str
    base: str
    out: str
    form: str = "passage"  # passage | sentence
    drop: tuple = ()  # near-miss kinds left out
    epochs: float = 3.0
    max_steps: int = 0  # 0: epochs decide
    batch_size: int = 64
    lr: float = 1e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    heading_share: float = 0.7
    seed: int = 13
    device: str = "cuda"
    threads: int = 2
    evals: int = 3  # validations over the run; the best is kept
    save: bool = False  # write the best weights (fp16, in parts) to out/
    budget: float = 0.0  # seconds the whole run may take; 0: no limit
    cache: str = ""  # folder for featurized data shared by parallel runs
    workers: int = 1  # processes that featurize
    featurize_only: bool = False  # fill the cache and stop


def logistic(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def load(path: str) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


# features ---------------------------------------------------------------------
@dataclass
class Feature:
    qid: int
    kind: str
    ids: np.ndarray
    types: np.ndarray
    sentence: np.ndarray  # per token: index of its sentence in the paragraph, -1 outside the passage
    start: int
    end: int
    answerable: int
    gold: int  # index of the answer sentence in the paragraph, -1 when none


def encode(tokenizer, question: str, heading: str, para: dict, window: tuple[int, int], answer):
    """Tokens of one example, with each passage token's sentence and the
    answer's token span (0, 0 when the passage does not hold it)."""
    text, spans = para["text"], para["sentences"]
    lo, hi = window
    base = spans[lo][0]
    passage = text[base:spans[hi - 1][1]]
    prefix = heading + HEADING_SEP if heading else ""
    enc = tokenizer.encode(question, prefix + passage)
    ids = np.array(enc.ids, dtype=np.int32)
    types = np.array(enc.type_ids, dtype=np.int8)
    sentence = np.full(len(ids), -1, dtype=np.int16)
    bounds = [(s - base + len(prefix), e - base + len(prefix)) for s, e in spans[lo:hi]]
    k = 0
    for t, (seq, (a, b)) in enumerate(zip(enc.sequence_ids, enc.offsets)):
        if seq != 1 or b <= a or a < len(prefix):
            continue
        while k < len(bounds) and a >= bounds[k][1]:
            k += 1
        if k < len(bounds) and a >= bounds[k][0]:
            sentence[t] = lo + k
    start = end = 0
    gold = -1
    if answer is not None:
        a, b = answer[0] - base + len(prefix), answer[1] - base + len(prefix)
        toks = [t for t, (seq, (x, y)) in enumerate(zip(enc.sequence_ids, enc.offsets))
                if seq == 1 and y > x and x < b and y > a and sentence[t] >= 0]
        if toks:
            start, end = toks[0], toks[-1]
            gold = int(sentence[toks[0]])
    return ids, types, sentence, start, end, gold


def fit_window(sizes: list[int], room: int, window, anchor: int, rng) -> tuple[int, int]:
    """The widest window of sentences inside ``window`` around ``anchor`` whose
    tokens (``sizes`` per sentence of the paragraph) fit in ``room``."""
    lo, hi = window
    if sum(sizes[lo:hi]) <= room:
        return window
    a = b = anchor
    used = sizes[a]
    while True:
        grow = [(i, side) for i, side in ((a - 1, -1), (b + 1, 1)) if lo <= i < hi and used + sizes[i] <= room]
        if not grow:
            break
        i, side = rng.choice(grow)
        used += sizes[i]
        a, b = (i, b) if side < 0 else (a, i)
    return a, b + 1


def features(data: dict, tokenizer, cfg: Config, seed: int, training: bool, part: tuple[int, int] | None = None):
    """Features of ``data["examples"][part[0]:part[1]]`` (all by default),
    drawn with their own seed so any split of the work gives the same result."""
    rng = random.Random(seed)
    out = []
    paras = data["paragraphs"]
    sizes_of: dict[int, list[int]] = {}
    lo_ex, hi_ex = part or (0, len(data["examples"]))
    for qid in range(lo_ex, hi_ex):
        ex = data["examples"][qid]
        para = paras[ex["p"]]
        n = len(para["sentences"])
        if n == 0:
            continue
        if ex["p"] not in sizes_of:
            sizes_of[ex["p"]] = [len(e.ids) for e in tokenizer.encode_batch(
                [para["text"][s:e] for s, e in para["sentences"]], add_special_tokens=False)]
        sizes = sizes_of[ex["p"]]
        answer = ex.get("a")
        window = tuple(ex.get("w", (0, n)))
        if answer is not None:
            anchor = next(i for i, (s, e) in enumerate(para["sentences"]) if s <= answer[0] < e)
        else:
            anchor = rng.randrange(window[0], window[1])
        heading = para["title"] if (not training or rng.random() < cfg.heading_share) else ""
        room = MAX_TOKENS - 3 - len(tokenizer.encode(ex["q"], add_special_tokens=False).ids) \
            - (len(tokenizer.encode(heading + HEADING_SEP, add_special_tokens=False).ids) if heading else 0)
        if cfg.form == "sentence":
            if training:
                windows = [(anchor, anchor + 1)]
                if answer is not None and n > 1:
                    windows.append(rng.choice([(i, i + 1) for i in range(n) if i != anchor]))
            else:
                windows = [(i, i + 1) for i in range(*window)]
        elif training:
            windows = [fit_window(sizes, room, window, anchor, rng)]
        else:  # validation reads every sentence, in as many windows as it takes
            windows, start = [], window[0]
            while start < window[1]:
                w = fit_window(sizes, room, (start, window[1]), start, random.Random(0))
                windows.append((start, max(w[1], start + 1)))
                start = windows[-1][1]
        for w in windows:
            ids, types, sentence, start, end, gold = encode(tokenizer, ex["q"], heading, para, w, answer)
            ids, types, sentence = ids[:MAX_TOKENS + 32], types[:MAX_TOKENS + 32], sentence[:MAX_TOKENS + 32]
            out.append(Feature(qid, ex["kind"], ids, types, sentence, start, end, int(gold >= 0), gold))
    return out


def featurize(data: dict, cfg: Config, training: bool, workers: int = 1, chunk: int = 2000) -> list[Feature]:
    """All features, in chunks of ``chunk`` examples seeded by position (the
    same result whatever ``workers`` is)."""
    from concurrent.futures import ProcessPoolExecutor

    parts = [(k, min(k + chunk, len(data["examples"]))) for k in range(0, len(data["examples"]), chunk)]
    seeds = [cfg.seed * 100003 + k for k, _ in parts]
    if workers <= 1:
        tokenizer = make_tokenizer(cfg.tokenizer)
        chunks = [features(data, tokenizer, cfg, s, training, p) for s, p in zip(seeds, parts)]
    else:
        global _SHARED
        _SHARED = (data, cfg, training)
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            chunks = list(pool.map(_features_part, seeds, parts))
    return [f for c in chunks for f in c]


_SHARED = None


def _features_part(seed, part):
    data, cfg, training = _SHARED
    return features(data, make_tokenizer(cfg.tokenizer), cfg, seed, training, part)


def make_tokenizer(path: str):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def collate(batch: list[Feature]):
    width = max(len(f.ids) for f in batch)
    n = len(batch)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    sentence = np.full((n, width), -1, dtype=np.int64)
    for r, f in enumerate(batch):
        k = len(f.ids)
        ids[r, :k], mask[r, :k], types[r, :k], sentence[r, :k] = f.ids, 1, f.types, f.sentence
    return ids, mask, types, sentence


def pool_sentences(sentence: np.ndarray, token_logits: np.ndarray):
    """Per row: {sentence index: mean token logit}."""
    out = []
    for row in range(sentence.shape[0]):
        d = {}
        ids = sentence[row]
        for s in np.unique(ids[ids >= 0]):
            d[int(s)] = float(token_logits[row][ids == s].mean())
        out.append(d)
    return out


def span_scores(sentence_row, start, end):
    """Per sentence: best start+end over its tokens (span ≤ MAX_SPAN_TOKENS) minus the null score,
    and that span's token (i, j)."""
    null = start[0] + end[0]
    out = {}
    for s in np.unique(sentence_row[sentence_row >= 0]):
        toks = np.nonzero(sentence_row == s)[0]
        st, en = start[toks], end[toks]
        m = st[:, None] + en[None, :]
        k = len(toks)
        allowed = np.triu(np.ones((k, k), dtype=bool)) & ~np.triu(np.ones((k, k), dtype=bool), MAX_SPAN_TOKENS)
        m = np.where(allowed, m, -np.inf)
        i, j = np.unravel_index(int(np.argmax(m)), m.shape)
        out[int(s)] = (float(m[i, j] - null), int(toks[i]), int(toks[j]))
    return out


# model ------------------------------------------------------------------------
def build_model(base: str):
    import torch
    from transformers import BertConfig, BertModel

    class PassageReader(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(0.1)
            self.answerable = torch.nn.Linear(hidden, 1)
            self.evidence = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state
            h = self.dropout(h)
            answerable = self.answerable(h[:, 0]).squeeze(-1)
            evidence = self.evidence(h).squeeze(-1)
            span = self.span(h)
            return answerable, evidence, span[..., 0], span[..., 1]

    path = Path(base)
    if (path / "model.safetensors").exists() or (path / "pytorch_model.bin").exists():
        encoder = BertModel.from_pretrained(str(path), add_pooling_layer=False)
    else:  # fp16 parts carried to a machine without the base package
        import torch

        encoder = BertModel(BertConfig.from_json_file(str(path / "config.json")), add_pooling_layer=False)
        state = torch.load(path / "weights.pt", map_location="cpu")
        encoder.load_state_dict({k: v.float() for k, v in state.items()})
    return PassageReader(encoder)


def losses(model, batch: list[Feature], device):
    import torch
    import torch.nn.functional as F

    ids, mask, types, sentence = (torch.from_numpy(a).to(device) for a in collate(batch))
    answerable, evidence, start, end = model(ids, mask, types)
    allowed = sentence >= 0
    allowed[:, 0] = True
    start = start.float().masked_fill(~allowed, -1e4)
    end = end.float().masked_fill(~allowed, -1e4)
    ts = torch.tensor([f.start for f in batch], device=device)
    te = torch.tensor([f.end for f in batch], device=device)
    span_loss = (F.cross_entropy(start, ts) + F.cross_entropy(end, te)) / 2
    labels = torch.tensor([float(f.answerable) for f in batch], device=device)
    ans_loss = F.binary_cross_entropy_with_logits(answerable.float(), labels)
    # sentence logits: mean of token logits over each sentence of the passage
    local = sentence - sentence.masked_fill(sentence < 0, 10 ** 6).min(dim=1, keepdim=True).values
    local = local.masked_fill(sentence < 0, -1)
    n_sent = int(local.max().item()) + 1
    onehot = (local.unsqueeze(1) == torch.arange(n_sent, device=device).view(1, -1, 1)).float()
    counts = onehot.sum(-1)
    pooled = (onehot * evidence.float().unsqueeze(1)).sum(-1) / counts.clamp(min=1)
    gold_local = torch.tensor([f.gold for f in batch], device=device) - \
        sentence.masked_fill(sentence < 0, 10 ** 6).min(dim=1).values
    target = (torch.arange(n_sent, device=device).view(1, -1) == gold_local.view(-1, 1)).float()
    target = target * labels.view(-1, 1)
    valid = counts > 0
    sent_loss = F.binary_cross_entropy_with_logits(pooled[valid], target[valid])
    return span_loss + ans_loss + sent_loss


def predict(model, feats: list[Feature], device, batch_size: int = 128):
    """Per feature: (answerable logit, {sentence: evidence logit}, {sentence: span score, i, j})."""
    import torch

    model.eval()
    out = [None] * len(feats)
    order = sorted(range(len(feats)), key=lambda i: len(feats[i].ids))
    with torch.inference_mode():
        for lo in range(0, len(order), batch_size):
            idx = order[lo:lo + batch_size]
            batch = [feats[i] for i in idx]
            ids, mask, types, sentence = collate(batch)
            with autocast(device):
                a, ev, st, en = model(*(torch.from_numpy(x).to(device) for x in (ids, mask, types)))
            a, ev, st, en = (t.float().cpu().numpy() for t in (a, ev, st, en))
            pooled = pool_sentences(sentence, ev)
            for r, i in enumerate(idx):
                k = len(feats[i].ids)
                out[i] = (float(a[r]), pooled[r], span_scores(sentence[r, :k], st[r, :k], en[r, :k]))
    model.train()
    return out


def autocast(device):
    import contextlib

    import torch

    if str(device).startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


# validation -------------------------------------------------------------------
def auc(pos, neg) -> float:
    if not pos or not neg:
        return float("nan")
    scores = np.array(list(pos) + list(neg))
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for v in np.unique(scores):  # ties share their mean rank
        same = scores == v
        if same.sum() > 1:
            ranks[same] = ranks[same].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def abstention_at(pos, neg, rate: float) -> float:
    threshold = float(np.quantile(np.array(pos), rate))
    return float(np.mean(np.array(neg) < threshold))


def token_f1(pred: str, gold: str) -> float:
    import collections
    import re
    import string

    def norm(s):
        s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
        return re.sub(r"\b(a|an|the)\b", " ", s).split()

    p, g = norm(pred), norm(gold)
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def evaluate(model, val: dict, feats: list[Feature], device, tokenizer=None) -> dict:
    """Question-level figures for two ways of scoring a sentence: the model's
    ``σ(answerable)·σ(evidence)`` and the span score alone."""
    preds = predict(model, feats, device)
    per_q: dict[int, dict] = {}
    for f, (a, ev, sp) in zip(feats, preds):
        q = per_q.setdefault(f.qid, {"joint": {}, "span": {}, "short": {}})
        for s, logit in ev.items():
            joint = float(logistic(a) * logistic(logit))
            if joint > q["joint"].get(s, -1):
                q["joint"][s] = joint
            score, i, j = sp[s]
            if score > q["span"].get(s, -1e9):
                q["span"][s] = score
                q["short"][s] = (f, i, j)
    out = {}
    for name in ("joint", "span"):
        best_gold, pos, neg, f1 = [], [], [], []
        for qid, q in per_q.items():
            ex = val["examples"][qid]
            scores = q[name]
            if not scores:
                continue
            best = max(scores, key=scores.get)
            top = scores[best]
            if "a" in ex:
                para = val["paragraphs"][ex["p"]]
                gold = next(i for i, (s, e) in enumerate(para["sentences"]) if s <= ex["a"][0] < e)
                best_gold.append(best == gold)
                pos.append(top)
                if tokenizer is not None and name == "span":
                    f, i, j = q["short"][best]
                    f1.append(token_f1(short_text(tokenizer, f, i, j), para["text"][ex["a"][0]:ex["a"][1]]))
            else:
                neg.append(top)
        out[name] = {"best_is_gold": round(float(np.mean(best_gold)), 4), "auc": round(auc(pos, neg), 4),
                     "abstain_at_10": round(abstention_at(pos, neg, 0.10), 4),
                     "abstain_at_20": round(abstention_at(pos, neg, 0.20), 4)}
        if f1:
            out[name]["short_f1"] = round(float(np.mean(f1)), 4)
    out["questions"] = len(per_q)
    return out


def short_text(tokenizer, f: Feature, i: int, j: int) -> str:
    """The text of tokens i..j of a feature, as the tokenizer decodes it."""
    return tokenizer.decode([int(x) for x in f.ids[i:j + 1]])


def selection_score(m: dict) -> float:
    best = max(m["joint"]["auc"] + m["joint"]["best_is_gold"], m["span"]["auc"] + m["span"]["best_is_gold"])
    return best


# training loop ----------------------------------------------------------------
def batches(feats: list[Feature], size: int, rng: random.Random) -> list[list[Feature]]:
    order = list(range(len(feats)))
    rng.shuffle(order)
    out = []
    for c in range(0, len(order), size * 50):
        chunk = sorted(order[c:c + size * 50], key=lambda i: len(feats[i].ids))
        out.extend([[feats[i] for i in chunk[j:j + size]] for j in range(0, len(chunk), size)])
    rng.shuffle(out)
    return out


def cached_features(cfg: Config, which: str, log=print) -> list[Feature]:
    """Features of the training (``which="train"``) or validation data, kept
    in ``cfg.cache`` so parallel runs featurize once."""
    import pickle

    training = which == "train"
    path = Path(cfg.cache) / f"{which}-{cfg.form}-{cfg.seed}.pkl" if cfg.cache else None
    if path and path.exists():
        return pickle.loads(path.read_bytes())
    t0 = time.time()
    feats = featurize(load(cfg.data if training else cfg.val), cfg, training, cfg.workers)
    log(f"featurized {which} ({cfg.form}): {len(feats)} features in {time.time() - t0:.0f} s")
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(feats, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
    return feats


def train(cfg: Config, log=print) -> dict:
    import torch

    t0 = time.time()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = random.Random(cfg.seed)
    tokenizer = make_tokenizer(cfg.tokenizer)
    train_feats = [f for f in cached_features(cfg, "train", log) if f.kind not in cfg.drop]
    val_feats = cached_features(cfg, "val", log)
    val = load(cfg.val)
    per_epoch = math.ceil(len(train_feats) / cfg.batch_size)
    planned = cfg.max_steps or int(per_epoch * cfg.epochs)
    total = [planned]
    log(f"{cfg.form} drop={list(cfg.drop)}: {len(train_feats)} features, {per_epoch} steps an epoch, {planned} "
        f"steps planned; {len(val_feats)} val features; ready in {time.time() - t0:.0f} s")
    device = torch.device(cfg.device)
    model = build_model(cfg.base).to(device)
    decay = [p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))]
    no_decay = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr,
                                  fused=device.type == "cuda")
    warmup = max(1, int(planned * cfg.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total[0] - s) / max(1, total[0] - warmup))))
    plan: list = []
    while len(plan) < planned:
        plan.extend(batches(train_feats, cfg.batch_size, rng))
    history, best, best_state = [], -1.0, None
    model.train()
    running, t1, t200, step = None, time.time(), time.time(), 0

    def validate():
        nonlocal best, best_state
        m = evaluate(model, val, val_feats, device, tokenizer)
        m["step"] = step
        m["seconds"] = round(time.time() - t1)
        history.append(m)
        log(f"val {json.dumps(m)}")
        if selection_score(m) > best:
            best = selection_score(m)
            best_state = {k: v.detach().to("cpu", torch.float16).clone() for k, v in model.state_dict().items()}

    while step < total[0]:
        with autocast(device):
            loss = losses(model, plan[step], device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        if step % 50 == 0:
            value = loss.item()
            running = value if running is None else 0.9 * running + 0.1 * value
        if step == 200:
            t200 = time.time()
        if step == 400 and cfg.budget:
            # Fit the run to the time it has: the schedule decays to zero at the new end.  Timed
            # over steps 200-400, after the GPU's first steps (kernel choice, allocator) are past.
            per_step = (time.time() - t200) / 200
            left = cfg.budget - (time.time() - t0) - 20 * cfg.evals
            fits = step + int(left / per_step)
            if fits < total[0]:
                log(f"{per_step * 1000:.0f} ms a step: {fits} steps fit the budget, not {total[0]}")
                total[0] = max(fits, step + 1)
        if step % 500 == 0:
            log(f"step {step}/{total[0]} loss {running:.4f} {time.time() - t1:.0f} s")
        if step >= total[0] * (len(history) + 1) / cfg.evals or step == total[0]:
            validate()
    report = {"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
              "features": len(train_feats), "steps": total[0], "steps_planned": planned,
              "steps_per_epoch": per_epoch, "history": history, "best": max(history, key=selection_score),
              "train_seconds": round(time.time() - t1), "total_seconds": round(time.time() - t0),
              "kinds": count_kinds(train_feats)}
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.save and best_state is not None:
        save_parts(best_state, out)
    return {"report": report, "state": best_state}


def count_kinds(feats: list[Feature]) -> dict:
    counts: dict = {}
    for f in feats:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return counts


def save_parts(state: dict, out: Path, part_bytes: int = 15 * 2 ** 20) -> None:
    """fp16 weights in files of at most ``part_bytes`` (what a lent machine can send back)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    blob = buffer.getvalue()
    for k in range(0, len(blob), part_bytes):
        (out / f"weights.part{k // part_bytes}").write_bytes(blob[k:k + part_bytes])


def load_parts(folder: Path) -> dict:
    import io

    import torch

    parts = sorted(folder.glob("weights.part*"), key=lambda p: int(p.suffix[5:]))
    return torch.load(io.BytesIO(b"".join(p.read_bytes() for p in parts)), map_location="cpu")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, value in asdict(Config("", "", "", "", "")).items():
        if isinstance(value, bool):
            parser.add_argument(f"--{name}", action="store_true")
        elif isinstance(value, tuple):
            parser.add_argument(f"--{name}", nargs="*", default=[])
        else:
            parser.add_argument(f"--{name}", type=type(value), default=value, required=value == "")
    args = vars(parser.parse_args(argv))
    args["drop"] = tuple(args["drop"])
    cfg = Config(**args)
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    logfile = open(Path(cfg.out) / "log.txt", "a")

    def log(msg):
        print(msg, flush=True)
        logfile.write(msg + "\n")
        logfile.flush()

    if cfg.featurize_only:
        cached_features(cfg, "train", log)
        cached_features(cfg, "val", log)
        return
    result = train(cfg, log)
    (Path(cfg.out) / "report.json").write_text(json.dumps(result["report"], indent=1) + "\n")


if __name__ == "__main__":
    main()
