"""Following a run through the server: what the client concludes from the records it reads."""

from __future__ import annotations

import socket
import subprocess
import sys

from shipyard.client.http import ApiClient
from shipyard.client.runs import get_run
from shipyard.store import leases
from shipyard.store import runs as store

RUN = "race-0001"


def test_a_run_that_ends_after_the_servers_read_is_read_as_ended_not_interrupted(api_server):
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    owner = f"{socket.gethostname()}:{process.pid}:0a1b2c3d"
    store.create_run(run_id=RUN, pipeline="p", spec_path=None, spec_text="", spec_digest="", options={},
                     owner=owner, lease_s=60)
    store.update_run(RUN, status="running")

    class EndsMeanwhile(ApiClient):
        """The run records its end and its process exits between the server's read and the client's check."""

        def get(self, path, **params):
            answer = super().get(path, **params)
            if process.poll() is None:
                assert answer["status"] == "running"
                assert leases.release(RUN, owner, status="succeeded")
                process.communicate(b"")
            return answer

    record = get_run(EndsMeanwhile(api_server.url, api_server.tokens["root"]), RUN)
    assert (record.status, record.shown_status) == ("succeeded", "succeeded")


def test_a_run_whose_process_is_gone_without_an_end_is_interrupted(api_server):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    store.create_run(run_id=RUN, pipeline="p", spec_path=None, spec_text="", spec_digest="", options={},
                     owner=f"{socket.gethostname()}:{process.pid}:0a1b2c3d", lease_s=60)
    store.update_run(RUN, status="running")
    record = get_run(ApiClient(api_server.url, api_server.tokens["root"]), RUN)
    assert (record.status, record.shown_status) == ("interrupted", "interrupted")  # the server judged it so
