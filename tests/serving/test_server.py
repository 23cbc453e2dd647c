import pytest

from shipyard.serving.server import is_loopback


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.7", False), ("gateway.internal", False),
])
def test_only_loopback_hosts_count_as_private(host, loopback):
    assert is_loopback(host) is loopback
