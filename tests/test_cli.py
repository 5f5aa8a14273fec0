"""The qa command in real subprocesses, as a user runs it."""

import json
import subprocess
import sys

import pytest


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


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli-seeded")
    assert qa("index", "list", data_dir=data).returncode == 0
    return data


@pytest.mark.parametrize("question,code", [("What did Wang Yi say?", 0), ("", 2), ("x" * 2001, 2),
                                           ("\udc80 fentanyl", 2), ("<b>{{7*7}}</b> ' OR 1=1; --", 0),
                                           ("\u202e\x1b[31m🙂", 0)])
def test_odd_questions_answer_or_exit_2(seeded_dir, question, code):
    """``\\udc80`` reaches qa as the invalid UTF-8 byte 0x80 in argv."""
    out = qa("ask", "--json", question, data_dir=seeded_dir)
    assert out.returncode == code, out.stderr
    if code == 0:
        json.loads(out.stdout)
    else:
        assert out.stderr.startswith("Error: ") and "Traceback" not in out.stderr


def test_chat_keeps_the_conversation(tmp_path):
    out = qa("chat", data_dir=tmp_path, input="Who is Ruan Zongze?\nWhat did he say about drug dealers?\n\n")
    assert out.returncode == 0, out.stderr
    assert "drug dealers can mix" in out.stdout


def test_index_check_on_a_fresh_index(seeded_dir):
    out = qa("index", "check", "--json", data_dir=seeded_dir)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["clean"] and report["problems"] == [] and report["documents"] == 1
    listed = json.loads(qa("index", "list", "--json", data_dir=seeded_dir).stdout)
    assert report["sentences"] == sum(d["sentences"] for d in listed)


def test_ask_searches_only_the_documents_named(seeded_dir):
    asked = qa("ask", "--json", "--doc", "000-e110c866457404a4", "Who is Ruan Zongze?", data_dir=seeded_dir)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["judgement"] in ("confident", "tentative")
    assert {r["doc_id"] for r in answer["retrieved"]} == {"000-e110c866457404a4"}
    unknown = qa("ask", "--doc", "000-e110c866457404a4", "--doc", "nope", "Who is Ruan Zongze?", data_dir=seeded_dir)
    assert unknown.returncode == 2 and "no such document: 'nope'" in unknown.stderr
