from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standins.openai_api import OpenAIStandIn, running_openai_standin


@pytest.fixture
def openai_api() -> Iterator[OpenAIStandIn]:
    """A local OpenAI chat-completions server; the real `openai` client talks to it."""
    with running_openai_standin() as api:
        yield api
