"""What replay shares between cassette uses, and what it never shares.

A cassette file is loaded once per process (``SNAPSHOTS``) and vcrpy's patchers are built
once (``SWITCHBOARD``); each use still gets a cassette of its own (play counts, unmatched
requests, copies of the responses), a changed file is loaded again, and the patches are
gone after every use. A baseline mode already replayed by its own case is not replayed
twice (``conformance.test_scenarios.play``), replayed or live; a case's own mode always
runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.cassettes import UnmatchedRequestError
from harness.cassettes.record import SNAPSHOTS, SWITCHBOARD, use_cassette
from tests.test_recording import numbered, post, record


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "two.yaml"
    record(path, [(post(b'{"q":0}'), numbered(200, 0)), (post(b'{"q":1}'), numbered(200, 1))])
    return path


def ask(client: httpx.Client, number: int) -> Any:
    return client.post(post(b"")["url"], content=f'{{"q":{number}}}'.encode()).json()


def test_each_use_has_its_own_play_counts(cassette: Path) -> None:
    for _ in range(3):
        with use_cassette(cassette) as replay, httpx.Client() as client:
            assert ask(client, 1) == {"n": 1}
            assert dict(replay.play_counts) == {1: 1}
            with pytest.raises(UnmatchedRequestError, match="already played"):
                ask(client, 1)  # played once per use, whatever earlier uses did
            assert len(replay.unmatched) == 1


def test_a_played_response_is_a_copy(cassette: Path) -> None:
    with use_cassette(cassette) as replay, httpx.Client() as client:
        ask(client, 0)
        played = replay.play_response(replay.data[1][0])
        played["headers"].clear()
        played["body"]["string"] = b"changed"
    with use_cassette(cassette) as replay, httpx.Client() as client:
        assert replay.data[1][1]["headers"]
        assert ask(client, 1) == {"n": 1}


def test_a_changed_file_is_loaded_again(cassette: Path, tmp_path: Path) -> None:
    with use_cassette(cassette), httpx.Client() as client:
        assert ask(client, 0) == {"n": 0}
    changed = tmp_path / "changed.yaml"
    record(changed, [(post(b'{"q":0}'), numbered(200, 7))])
    changed.replace(cassette)  # as a recording does: a new file in its place
    with use_cassette(cassette) as replay, httpx.Client() as client:
        assert len(replay.data) == 1
        assert ask(client, 0) == {"n": 7}


def test_the_snapshot_is_shared_only_by_replays(cassette: Path) -> None:
    SNAPSHOTS.clear()
    with use_cassette(cassette) as first:
        pass
    with use_cassette(cassette) as second:
        pass
    assert first is not second and first.data is not second.data
    assert first.data[0] is second.data[0]  # the loaded interactions, not reparsed
    with use_cassette(cassette, record_mode="once") as recording:
        pass  # a recording mode loads the file itself
    assert recording.data[0] is not first.data[0]


def test_patches_are_removed_after_each_use(cassette: Path) -> None:
    original = httpx.HTTPTransport.handle_request
    with use_cassette(cassette):
        assert httpx.HTTPTransport.handle_request is not original
    assert httpx.HTTPTransport.handle_request is original
    with pytest.raises(RuntimeError), use_cassette(cassette):
        raise RuntimeError("the block failed")
    assert httpx.HTTPTransport.handle_request is original


def test_a_nested_cassette_gets_patchers_of_its_own(cassette: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    record(other, [(post(b'{"q":0}'), numbered(200, 5))])
    original = httpx.HTTPTransport.handle_request
    with use_cassette(cassette), httpx.Client() as client:
        outer = httpx.HTTPTransport.handle_request
        with use_cassette(other):
            assert ask(client, 0) == {"n": 5}
        assert httpx.HTTPTransport.handle_request is outer
        assert ask(client, 0) == {"n": 0}
    assert httpx.HTTPTransport.handle_request is original
    assert not SWITCHBOARD._busy


@pytest.mark.parametrize("name", ["plain_text", "connection_dropped"])  # replayed, live
def test_a_baseline_already_run_by_its_own_case_is_reused(name: str) -> None:
    from conformance.modes import Case
    from conformance.runs import LiveEndpoints
    from conformance.scenarios import SCENARIOS
    from conformance.test_scenarios import play
    from harness.adapters.reference import ReferenceAdapter
    from harness.pytest_plugin import Suite, shipped_cassettes

    suite = Suite(
        adapter=ReferenceAdapter(),
        providers=("openai",),
        record_mode="none",
        emulator=False,
        cassette_dir=shipped_cassettes(),
        match="strict",
    )
    scenario = next(s for s in SCENARIOS if s.name == name)
    sync, in_async = Case(scenario, "sync", "openai"), Case(scenario, "async", "openai")
    endpoints = LiveEndpoints()
    try:
        played = play(suite, sync, "sync", endpoints)
        assert play(suite, in_async, "sync", endpoints) is played  # the async case's baseline
        again = play(suite, sync, "sync", endpoints)
        assert again is not played and again.requests == played.requests  # its own: run
        own = play(suite, in_async, "async", endpoints)
        assert play(suite, in_async, "async", endpoints) is not own  # never for its own mode
    finally:
        endpoints.close()
