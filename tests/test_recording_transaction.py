"""Recording is a transaction: a failed, refused or interrupted recording leaves every
committed cassette byte-identical (or, against the emulator, validly re-recorded).

The suite runs in subprocesses on a copy of ``cassettes/``, never on the repository's.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cassettes import load_cassette
from harness.cassettes.record import recording_transaction

ROOT = Path(__file__).resolve().parent.parent
CLOSED_PROXY = "http://127.0.0.1:9"
"""A proxy nobody listens on: every live request fails to connect, with no network."""


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def suite(cassettes: Path, *options: str, env: dict[str, str] | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "conformance"),
        f"--cassette-dir={cassettes}",
        "-p",
        "no:cacheprovider",
        "-q",
        *options,
    ]


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    copy = tmp_path / "cassettes"
    shutil.copytree(ROOT / "cassettes", copy)
    return copy


def offline_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_PROXY"))}
    env.update(HTTPS_PROXY=CLOSED_PROXY, HTTP_PROXY=CLOSED_PROXY, NO_PROXY="", **extra)
    return env


# --- the transaction itself --------------------------------------------------------------


def test_a_failing_block_leaves_the_cassette_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"committed")
    with pytest.raises(RuntimeError), recording_transaction(path, keep=False) as temporary:
        temporary.write_bytes(b"half a recording")
        raise RuntimeError("the provider went away")
    assert path.read_bytes() == b"committed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_an_interrupted_block_leaves_the_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"committed")
    with pytest.raises(KeyboardInterrupt), recording_transaction(path, keep=True) as temporary:
        assert temporary.read_bytes() == b"committed"  # a mode that adds starts from it
        temporary.write_bytes(b"committed + half")
        raise KeyboardInterrupt
    assert path.read_bytes() == b"committed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_a_block_that_recorded_nothing_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"committed")
    with recording_transaction(path, keep=False):
        pass
    assert path.read_bytes() == b"committed"


def test_a_successful_block_replaces_the_cassette(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.yaml"
    with recording_transaction(path, keep=False) as temporary:
        temporary.write_bytes(b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in path.parent.iterdir()] == ["c.yaml"]


# --- the suite ---------------------------------------------------------------------------


def test_a_rewrite_without_keys_or_network_changes_no_cassette(cassettes: Path) -> None:
    before = snapshot(cassettes)
    result = subprocess.run(
        suite(cassettes, "--provider=openai", "--record-mode=rewrite", "-k", "plain or retry"),
        env=offline_env(OPENAI_API_KEY="sk-fake-key-for-this-test"),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "the cassette was left unchanged" in result.stdout
    assert "APIConnectionError" in result.stdout  # the real cause, not "cassette not found"
    assert snapshot(cassettes) == before


def test_a_rewrite_with_no_key_names_the_missing_key(cassettes: Path) -> None:
    before = snapshot(cassettes)
    result = subprocess.run(
        suite(cassettes, "--provider=anthropic", "--record-mode=rewrite", "-k", "plain_text"),
        env=offline_env(),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "ANTHROPIC_API_KEY" in result.stdout
    assert snapshot(cassettes) == before


def request_keys(path: Path) -> list[tuple[str, str, bytes]]:
    return [(i.request.method, i.request.uri, i.request.body) for i in load_cassette(path)]


def as_in_a_terminal() -> None:
    """Ctrl-C reaches the run as in a terminal, whatever this process inherited: a shell
    starts background commands with SIGINT ignored, and Python then leaves it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigint_at_a_random_point_of_an_emulator_rewrite_loses_nothing(
    cassettes: Path, seed: int
) -> None:
    before = snapshot(cassettes)
    process = subprocess.Popen(
        suite(cassettes, "--record-mode=rewrite", "--emulator"),
        env=offline_env(PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        preexec_fn=as_in_a_terminal,
    )
    assert process.stdout is not None
    # Ctrl-C after a random number of finished cases (pytest -q prints one character
    # each): always while the run is recording, whatever the machine's speed.
    finished, seen = random.Random(seed).randint(20, 400), ""
    while sum(seen.count(mark) for mark in ".Fs") < finished:
        character = process.stdout.read(1)
        if not character:
            break
        seen += character
    process.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    rest, _ = process.communicate(timeout=60)
    output = seen + rest
    stopped_in = time.monotonic() - interrupted
    assert process.returncode in (pytest.ExitCode.INTERRUPTED, 0, -signal.SIGINT), output[-2000:]
    assert stopped_in < 10, f"the run went on for {stopped_in:.1f} s after Ctrl-C"
    after = snapshot(cassettes)
    assert sorted(after) == sorted(before), "a cassette was lost or a temporary file left"
    for name, content in after.items():
        if content != before[name]:  # re-recorded whole: the same requests, loadable
            assert request_keys(cassettes / name) == [
                (m, u, b) for m, u, b in request_keys_of_bytes(before[name], cassettes)
            ], name


def request_keys_of_bytes(content: bytes, where: Path) -> list[tuple[str, str, bytes]]:
    original = where.parent / "original.yaml"
    original.write_bytes(content)
    try:
        return request_keys(original)
    finally:
        original.unlink()
