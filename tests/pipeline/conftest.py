"""Fixtures the storage-integrated pipeline tests share: a runtime on the test database, fresh font
registries (they are cached per workspace), and the proof process pool stopped after a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.core.runtime import Runtime
from pipeline.proofs.job import shutdown_pool
from storage.db import Database
from tests.pipeline.pipeline_fixtures import forget_font_registries, make_runtime


@pytest.fixture
def runtime(db: Database, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db, tmp_path / "data")
    yield rt
    rt.workers.shutdown(wait=True)


@pytest.fixture
def fresh_font_registries() -> Iterator[None]:
    forget_font_registries()
    yield
    forget_font_registries()


@pytest.fixture(scope="module")
def stop_the_proof_pool() -> Iterator[None]:
    yield
    shutdown_pool()
