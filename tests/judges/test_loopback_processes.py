"""The loopback server in several processes (for benchmarks): it answers, and terminating it
ends every process it started."""

from __future__ import annotations

import subprocess
import sys

import httpx
import psutil


def test_processes_share_the_socket_and_end_together() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "palate.testing.loopback", "--processes", "3"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        workers = psutil.Process(server.pid).children()
        assert len(workers) == 2
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(timeout=10) as client:
            for _ in range(6):
                answer = client.post(f"{url}/chat/completions", json=body)
                assert answer.status_code == 200
                assert answer.json()["choices"][0]["message"]["content"]
    finally:
        server.terminate()
        server.wait(timeout=15)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive


def test_transient_faults_need_one_process() -> None:
    command = [sys.executable, "-m", "palate.testing.loopback", "--processes", "2"]
    done = subprocess.run(
        [*command, "--fault-rate", "0.1"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "--fault-rate needs a single process" in done.stderr
