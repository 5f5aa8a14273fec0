"""The qa command in real subprocesses, as a user runs it."""

import json
import subprocess
import sys


def qa(*args, data_dir, **kw):
    return subprocess.run([sys.executable, "-m", "qa", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=300, **kw)


def test_ask_json_index_list_add_remove(tmp_path):
    data = tmp_path / "data"
    out = qa("ask", "--json", "--k", "3", "How many people were arrested in 2017?", data_dir=data)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert not answer["abstained"] and "53 people" in answer["citations"][0]["text"]

    listed = json.loads(qa("index", "list", "--json", data_dir=data).stdout)
    assert [d["doc_id"] for d in listed] == ["000-e110c866457404a4"]

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "volcano.md").write_text("# Volcanoes\n\nMount Etna erupted in 2021.\n")
    (tmp_path / "corpus" / "broken.txt").write_bytes(b"\xc3\x28 bad utf8")
    added = qa("index", "add", str(tmp_path / "corpus"), data_dir=data)
    assert added.returncode == 0 and "1 added" in added.stdout
    assert "broken.txt" in added.stderr
    asked = json.loads(qa("ask", "--json", "When did Mount Etna erupt?", data_dir=data).stdout)
    assert asked["citations"][0]["doc_id"] == "volcano"

    removed = qa("index", "remove", "volcano", data_dir=data)
    assert removed.returncode == 0
    missing = qa("index", "remove", "volcano", data_dir=data)
    assert missing.returncode == 1 and "no such document" in missing.stderr


def test_bad_questions_exit_2_with_a_message(tmp_path):
    out = qa("ask", "   ", data_dir=tmp_path)
    assert out.returncode == 2 and "question is empty" in out.stderr and "Traceback" not in out.stderr


def test_chat_keeps_the_conversation(tmp_path):
    out = qa("chat", data_dir=tmp_path, input="Who is Ruan Zongze?\nWhat did he say about drug dealers?\n\n")
    assert out.returncode == 0, out.stderr
    assert "drug dealers can mix" in out.stdout
