"""All configuration in one place: environment variables and CLI flags map onto
one :class:`Settings` record, which every component receives explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("groundqa", appauthor=False))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Every knob groundqa has.  ``env`` names the variable that sets it."""

    data_dir: Path
    chroma_url: str | None = None  # env QA_CHROMA_URL: use a Chroma server instead of the local store
    seed: bool = True  # env QA_NO_SEED=1 turns it off: fresh data dirs start empty
    seed_dir: Path = PROJECT_ROOT / "seeds"  # env QA_SEED_DIR
    collection: str = "groundqa"  # env QA_COLLECTION: prefix of the three Chroma collections
    top_k: int = 4  # env QA_TOP_K: chunks retrieved per question
    chunk_tokens: int = 200  # env QA_CHUNK_TOKENS: chunk size (tiktoken cl100k tokens)
    chunk_overlap: int = 1  # env QA_CHUNK_OVERLAP: sentences shared by neighbouring chunks
    max_question_chars: int = 2000  # env QA_MAX_QUESTION_CHARS
    max_upload_files: int = 20  # env QA_MAX_UPLOAD_FILES: files one upload may carry; the rest are refused by name
    queue_size: int = 200  # env QA_QUEUE_SIZE: requests qa serve lets wait; past it Gradio answers 503 "queue is full"
    answer_timeout: float = 30.0  # env QA_ANSWER_TIMEOUT: seconds one answer may take (checked between its stages)
    max_answer_sentences: int = 3  # env QA_MAX_ANSWER_SENTENCES
    chroma_timeout: float = 5.0  # env QA_CHROMA_TIMEOUT: seconds before a server counts as down
    reader: str | None = None  # env QA_READER: cross-encoder | heuristic | llm (default: llm when llm_url is set, else cross-encoder)
    llm_url: str | None = None  # env QA_LLM_URL: an OpenAI-compatible server (…/v1) that picks the cited sentences
    llm_model: str | None = None  # env QA_LLM_MODEL: the model's name on that server
    llm_api_key: str | None = field(default=None, repr=False)  # env QA_LLM_API_KEY, else OPENAI_API_KEY
    llm_timeout: float = 30.0  # env QA_LLM_TIMEOUT: seconds before the LLM counts as down

    @property
    def reader_name(self) -> str:
        return self.reader or ("llm" if self.llm_url else "cross-encoder")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict = {
            "data_dir": Path(env["QA_DATA_DIR"]).expanduser() if env.get("QA_DATA_DIR") else _default_data_dir(),
            "chroma_url": env.get("QA_CHROMA_URL") or None,
            "seed": not _flag(env.get("QA_NO_SEED")),
            "llm_api_key": env.get("QA_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None,
        }
        casts = {f.name: f.type for f in fields(cls)}
        for name in ("seed_dir", "collection", "top_k", "chunk_tokens", "chunk_overlap",
                     "max_question_chars", "max_upload_files", "queue_size", "answer_timeout", "max_answer_sentences", "chroma_timeout", "reader", "llm_url", "llm_model",
                     "llm_timeout"):
            raw = env.get("QA_" + name.upper())
            if raw:
                kind = casts[name]
                values[name] = {"int": int, "float": float, "Path": Path}.get(kind, str)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
