from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.executors.cluster import PrivateNetwork


@pytest.fixture(scope="module")
def network() -> Iterator[PrivateNetwork]:
    """A module's private network namespace: its cluster, drivers and test servers talk on its loopback."""
    net = PrivateNetwork()
    yield net
    net.close()
