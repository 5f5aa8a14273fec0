"""Generated questions: every input gets a contract-valid answer or the
documented ValueError, through ``Engine.answer`` and through ``qa ask``
(exit code 2).  ``QA_FUZZ_EXAMPLES`` raises the number of examples for a
longer run."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings

from evals import generated
from qa.cite import contract_violations

EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "150"))
questions, histories, REFUSED = generated.questions, generated.histories, generated.REFUSED_QUESTION


@pytest.fixture(scope="module")
def texts(seeded_engine):
    return {d.doc_id: seeded_engine.document(d.doc_id)[0].text for d in seeded_engine.documents()}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
@given(question=questions, history=histories)
def test_generated_questions_get_an_answer_or_a_value_error(seeded_engine, texts, question, history):
    try:
        result = seeded_engine.answer(question, history=history)
    except ValueError as err:
        assert any(word in str(err) for word in REFUSED), str(err)
        return
    assert contract_violations(result, texts) == []
    json.loads(result.to_json())
