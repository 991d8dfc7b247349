"""Fixtures of the datastore flows."""

from collections.abc import Iterator
from typing import Any

import pytest

from app.clock import clock


@pytest.fixture
def app(make_app: Any) -> Iterator[Any]:
    """Status changes published on the next read (no batching window): a deletion's revocation is read at once.
    ``tests/flows/lifecycle/test_publication.py`` covers the window itself."""
    clock.reset()
    yield make_app(status_publish_delay=0)
    clock.reset()
