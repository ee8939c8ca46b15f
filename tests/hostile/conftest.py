"""Services as `python -m app serve` children for the hostile tests that need real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import ServiceFactory


@pytest.fixture
def services(tmp_path: Path) -> Iterator[ServiceFactory]:
    factory = ServiceFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()
