"""The reading model's card (``index/model/reader/README.md``), written by
``make reader`` from what the run measured, so the card cannot drift from
the model it describes."""

from __future__ import annotations

import json
import platform
from pathlib import Path


def _row(name: str, m: dict) -> str:
    return (f"| {name} | {m['best_is_gold']:.4f} | {m['auc']:.4f} | {m['abstain_at_10']:.4f} | "
            f"{m['abstain_at_20']:.4f} |")


def render(report: dict) -> str:
    cfg = report["config"]
    history = "\n".join(
        f"| {h['step']} | {h['best_is_gold']:.4f} | {h['auc']:.4f} | {h['abstain_at_10']:.4f} | {h['abstain_at_20']:.4f} |"
        for h in report["history"])
    kinds = report["pair_kinds_epoch_1"]
    a = report["agreement"]
    return f"""# groundqa reading model

A cross-encoder that reads a question with one sentence and gives the
probability that the sentence answers the question, plus start/end logits
for the short answer inside it. groundqa's default reader (`qa/reader.py`)
runs it with onnxruntime and tokenizers; nothing is downloaded and torch is
not needed at run time.

| | |
|---|---|
| file | `model.onnx`, int8 (onnxruntime `quantize_dynamic`, per-channel QInt8), {report['size_bytes']:,} bytes |
| sha256 | `{report['sha256']}` |
| base model | {report['base_model']}, Apache-2.0 (6 layers, 384 hidden, 22.7 M parameters) |
| tokenizer | `index/model/tokenizer.json` (the base model's WordPiece, uncased), pairs cut to 128 tokens |
| inputs | `input_ids`, `attention_mask`, `token_type_ids`: `[CLS] question [SEP] sentence [SEP]` |
| outputs | `answers` (logit: does the sentence answer?), `start`, `end` (per-token span logits; `[CLS]` is "no span") |
| training data | `squad2-pool/train.json`: 25 SQuAD 2.0 articles, {report['train_questions']:,} questions |
| checkpoint chosen on | `squad2-pool/val.json`: 4 other SQuAD 2.0 articles, 1,332 questions, 609 unanswerable |
| licence | **CC BY-SA 4.0**: a derived work of SQuAD 2.0 (Rajpurkar, Jia and Liang, 2018, CC BY-SA 4.0) on top of the Apache-2.0 base model |
| never trained on | the seed article, its dev questions, the SQuAD "Normans" evaluation set |

## How it was trained

`make reader` (= `python -m qa.training`, code in `qa/training.py`), seed
{cfg['seed']}, on {platform.machine()} CPU, 2 threads, torch 2.13.0 (CPU):

- **Pairs.** Each paragraph is split into sentences with groundqa's own
  segmenter (`index/segment.py`). The sentence holding an answer is a
  positive; {cfg['negatives_per_answerable']} other sentences of its paragraph, drawn at random, are negatives;
  every sentence of an unanswerable question's paragraph is a negative
  (SQuAD 2.0 wrote those questions to look answerable: they are near misses).
- **Synthetic hard negatives.** For each answerable question, a name or
  number that the question shares with its answer sentence is replaced by
  another of the same kind from the same article, once in the question and
  once in the sentence (when the article has one); each such pair is a
  negative. For {cfg['deletions_per_question']:.0%} of them, the answer sentence with the answer
  cut out is a negative too. Epoch 1 held {kinds.get('real', 0):,} real pairs,
  {kinds.get('swap-question', 0):,} question swaps, {kinds.get('swap-sentence', 0):,} sentence swaps and
  {kinds.get('delete-answer', 0):,} deleted answers ({report['pairs_per_epoch']:,} pairs; each epoch draws its own
  sample).
- **Objective.** Binary cross-entropy on the `[CLS]` logit plus
  {cfg['span_weight']} × the mean of the start and end cross-entropies (SQuAD 2.0 style: the
  span of a negative is `[CLS]`).
- **Optimisation.** AdamW, learning rate {cfg['lr']}, {cfg['warmup']:.0%} linear warm-up then linear
  decay, weight decay {cfg['weight_decay']}, batch {cfg['batch_size']} (batches of similar length), {cfg['epochs']}
  epochs = {report['steps']:,} steps, gradient norm clipped at 1. Validation
  {cfg['evals_per_epoch']} times per epoch; checkpoints every {cfg['checkpoint_every']} steps, and a rerun
  resumes from the last one.
- **Time.** {report['train_seconds'] / 60:.0f} minutes of training, {report['total_seconds'] / 60:.0f} minutes for the whole run
  (data, validation, export, quantization, comparison).

## Validation (`val.json`, every sentence of each question's paragraph)

Per question: is the most probable sentence a gold one (answerable
questions), ROC AUC of the highest probability between answerable and
unanswerable questions, and the share of unanswerable questions refused when
the threshold refuses 10 % / 20 % of the answerable ones.

| model | best sentence is gold | answerability AUC | abstention at 10 % false | at 20 % false |
|---|---|---|---|---|
{_row("fp32 (ONNX)", report["val_fp32"])}
{_row("**int8 (shipped)**", report["val_int8"])}

During training (fp32, torch), the checkpoint kept is step {report['best_step']}
(best AUC + best-sentence share):

| step | best sentence is gold | AUC | abstention at 10 % | at 20 % |
|---|---|---|---|---|
{history}

## int8 against fp32

Over {a['pairs']:,} validation pairs: largest probability difference
{a['max_abs_prob_diff_int8_fp32']}, mean {a['mean_abs_prob_diff_int8_fp32']}; same side of 0.5 for
{a['same_side_of_0.5']:.2%} of pairs; same best sentence for {a['same_best_sentence']:.2%} of questions.
The fp32 ONNX export matches torch to {a['max_abs_prob_diff_onnx_fp32_torch']}.

## Thresholds

Not part of the model: `calibration.json` beside it holds what
`qa eval --sweep --write` chose on development data only (see
`evals/sweep.py`): the combiner (a logistic regression of the model's logit
and groundqa's heuristic score, fitted on the candidate sentences that
retrieval proposes for the `val.json` questions), the abstention threshold on
the combined probability, and the bar for further sentences.

## Limits

English only; trained on encyclopaedic prose (Wikipedia), one sentence at a
time without its neighbours, so a sentence whose subject is a pronoun is
judged without knowing who "he" is. SQuAD-style questions; other question
styles were seen only through groundqa's dev questions, never in training.
Paraphrased questions that share few words with their answer get low
probabilities (the heuristic score in the combiner makes up part of that).
Separating near-miss questions from answerable ones remains the weak point:
answerability AUC 0.67 on `val.json`.
"""


def write_card(out: Path, report: dict) -> Path:
    path = Path(out) / "README.md"
    path.write_text(render(report), encoding="utf-8")
    return path


if __name__ == "__main__":
    import sys

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "index/model/reader"
    print(write_card(folder, json.loads((folder / "metrics.json").read_text())))
