"""Shared fixtures: every test works in a fresh temporary data directory with
the real Chroma store and the real embedding model."""

from __future__ import annotations

import pytest

from qa.settings import PROJECT_ROOT, Settings

SEED = PROJECT_ROOT / "seeds" / "000_e110c866457404a4.txt"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Nothing a test does may touch the user's real data directory."""
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path_factory.mktemp("default-data")))


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_bytes().decode("utf-8")


@pytest.fixture(scope="session")
def seeded_engine(tmp_path_factory):
    from qa.engine import Engine

    return Engine(Settings.from_env(data_dir=tmp_path_factory.mktemp("seeded")))


@pytest.fixture
def empty_engine(tmp_path):
    from qa.engine import Engine

    return Engine(Settings.from_env(data_dir=tmp_path / "data", seed=False))
