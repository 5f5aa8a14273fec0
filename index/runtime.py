"""One way to open an ONNX model, shared by the embedder and the reader.

Both run on the same two cores one after the other (a question is embedded,
then read), so their threads must not fight: each session's workers spin
between the operators of a run, where waking a sleeping thread would cost
more than the operator, and stop spinning when the run ends, so the next
model's run gets the cores.  Measured on the seed's dev questions: warm p50
88 ms with the reader's spinning off, 95 ms with both spinning freely (the
embedder's workers spun through the reader's first pass), 77 ms with the
stop; the embedder's bulk rate is the same with or without the stop.
"""

from __future__ import annotations

import os


def session(path: str):
    """An onnxruntime CPU session on ``QA_EMBED_THREADS`` threads (default: every core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("QA_EMBED_THREADS", os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False  # give attention buffers back after each run
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
