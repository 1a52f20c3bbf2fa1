"""The code verifier: hostile submissions are reported as failures and leave the host alone;
pass@k is Chen et al. (2021)'s unbiased estimator."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import socket
import threading
from pathlib import Path

import pytest

from palate.errors import PalateError
from palate.judges.base import PointTask
from palate.judges.config import VerifierJudgeConfig
from palate.judges.verifier import (
    _BOOTSTRAP,
    VerifierJudge,
    extract_code,
    pass_at_k,
    run_python,
)
from palate.schema import Prompt, Rating, Response

MARK = _BOOTSTRAP.strip().splitlines()[0]


def _verifier_processes() -> list[int]:
    """Live processes running our bootstrap (what a leaked child would still be)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().split(") ")[-1][0]
        except OSError:
            continue
        if MARK in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def test_passing_and_failing_submissions() -> None:
    code = "def add(a, b):\n    return a + b\n"
    ok = run_python(code, ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], timeout_s=5)
    assert (ok.status, ok.passed, ok.total, ok.pass_rate) == ("passed", 2, 2, 1.0)
    bad = run_python(code, ["assert add(1, 2) == 3", "assert add(2, 2) == 5"], timeout_s=5)
    assert (bad.status, bad.passed, bad.pass_rate) == ("failed", 1, 0.5)
    assert "test 1" in bad.detail and "AssertionError" in bad.detail
    broken = run_python("def add(a, b) return a", ["assert add(1, 2) == 3"], timeout_s=5)
    assert broken.status == "failed" and "SyntaxError" in broken.detail


def test_exiting_early_cannot_fake_a_pass() -> None:
    for code in ("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n"):
        result = run_python(code, ["assert False"], timeout_s=5)
        assert result.status == "failed", (code, result)


def test_infinite_loop_is_a_timeout_and_leaves_no_process() -> None:
    result = run_python("while True:\n    pass\n", ["assert True"], timeout_s=1)
    assert result.status == "timeout"
    sleeper = run_python("import time\ntime.sleep(60)\n", ["assert True"], timeout_s=1)
    assert sleeper.status == "timeout" and sleeper.duration_s < 30
    assert _verifier_processes() == []


def test_ten_gigabytes_is_a_memory_failure() -> None:
    result = run_python("x = bytearray(10 * 1024**3)\n", ["assert len(x) > 0"], memory_mb=256)
    assert result.status == "memory", result
    listed = run_python("x = [0] * (10 * 1024**3 // 8)\n", ["assert x"], memory_mb=256)
    assert listed.status == "memory", listed


def test_forking_is_forbidden_and_leaves_no_process() -> None:
    fork = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\n"
    result = run_python(fork, ["assert True"], timeout_s=5)
    assert result.status == "forbidden" and "fork" in result.detail
    spawn = "import subprocess\nsubprocess.Popen(['sleep', '60'])\n"
    assert run_python(spawn, ["assert True"], timeout_s=5).status == "forbidden"
    system = "import os\nos.system('sleep 60')\n"
    assert run_python(system, ["assert True"], timeout_s=5).status == "forbidden"
    assert _verifier_processes() == []


def test_writing_outside_its_directory_is_forbidden(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    keep = tmp_path / "keep.txt"
    keep.write_text("precious")
    attempts = [
        f"open({str(target)!r}, 'w').write('x')\n",
        f"import os\nos.open({str(target)!r}, os.O_CREAT | os.O_WRONLY)\n",
        f"import os\nos.remove({str(keep)!r})\n",
        f"import os\nos.rename({str(keep)!r}, 'mine.txt')\n",
        f"import os\nos.symlink('x', {str(target)!r})\n",
        # caught by the submission: still reported, still blocked
        f"try:\n    open({str(target)!r}, 'a')\nexcept BaseException:\n    pass\n",
    ]
    for code in attempts:
        result = run_python(code, ["assert True"], timeout_s=5)
        assert result.status == "forbidden", (code, result)
    assert not target.exists()
    assert keep.read_text() == "precious"
    inside = "open('notes.txt', 'w').write('fine')\n"
    assert run_python(inside, ["assert open('notes.txt').read() == 'fine'"]).status == "passed"


def test_opening_a_socket_is_forbidden() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(1.5)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(TimeoutError):
            accepted.append(server.accept())

    listener = threading.Thread(target=accept)
    listener.start()
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port})).sendall(b'hi')\n"
    result = run_python(code, ["assert True"], timeout_s=5)
    listener.join()
    server.close()
    assert result.status == "forbidden" and "socket" in result.detail
    assert accepted == []


def test_limits_and_the_hook_cannot_be_undone() -> None:
    attempts = [
        "import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))\n",
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    e.__traceback__.tb_frame.f_back\n",
        "import gc\ngc.get_objects()\n",
    ]
    for code in attempts:
        assert run_python(code, ["assert True"], timeout_s=5).status == "forbidden", code


def test_output_flood_is_bounded() -> None:
    result = run_python("print('x' * 10**7)\n", ["assert True"], timeout_s=5)
    assert result.status == "failed"


def test_extract_code_takes_the_fenced_block() -> None:
    answer = "Here you go:\n```python\ndef f():\n    return 1\n```\nDone."
    assert extract_code(answer) == "def f():\n    return 1\n"
    assert extract_code("def g(): pass") == "def g(): pass"


def _brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Share of all k-subsets of n samples (c of them correct) holding a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


def test_pass_at_k_matches_closed_form_and_brute_force() -> None:
    for n in range(1, 9):
        for c, k in itertools.product(range(n + 1), range(1, n + 1)):
            closed = 1.0 - math.comb(n - c, k) / math.comb(n, k)
            assert pass_at_k(n, c, k) == pytest.approx(closed, abs=1e-12), (n, c, k)
            assert pass_at_k(n, c, k) == pytest.approx(_brute_force_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_k_large_n_is_stable_and_checks_input() -> None:
    # pass@1 is the plain success rate; large n must not overflow as binomials would in floats
    assert pass_at_k(200, 37, 1) == pytest.approx(37 / 200)
    expected = 1.0 - math.comb(1000, 100) / math.comb(1200, 100)  # exact integers
    assert pass_at_k(1200, 200, 100) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(PalateError):
        pass_at_k(5, 6, 1)
    with pytest.raises(PalateError):
        pass_at_k(5, 2, 6)


def test_verifier_judge_scores_pass_rates_and_pass_at_k() -> None:
    config = VerifierJudgeConfig(name="py", kind="verifier", timeout_s=5, memory_mb=256, k=2)
    tests = {
        "double": ["assert double(2) == 4", "assert double(-1) == -2", "assert double(0) == 0"]
    }
    judge = VerifierJudge(config, tests, concurrency=2)
    prompt = Prompt(id="double", text="Write double(x).")
    answers = [
        "```python\ndef double(x):\n    return 2 * x\n```",
        "```python\ndef double(x):\n    return x + 2\n```",  # passes only double(2)
        "def double(x):\n    import os\n    os.fork()\n",
    ]

    async def judge_all() -> list[list[Rating]]:
        return await asyncio.gather(
            *(
                judge.judge_point(PointTask(prompt=prompt, response=Response(text=a)))
                for a in answers
            )
        )

    ratings = [r for rs in asyncio.run(judge_all()) for r in rs]
    assert [r.score for r in ratings] == [1.0, pytest.approx(1 / 3), 0.0]
    assert ratings[0].error_tags == [] and ratings[2].error_tags == ["forbidden"]
    assert ratings[1].metadata == {"status": "failed", "passed": 1, "total": 3}
    assert judge.pass_at_k(ratings) == {"double": pytest.approx(pass_at_k(3, 1, 2))}
    missing = PointTask(prompt=Prompt(id="other", text="?"), response=Response(text="x = 1"))
    (unscored,) = asyncio.run(judge.judge_point(missing))
    assert unscored.unscored is not None and "no tests" in unscored.unscored.reason
