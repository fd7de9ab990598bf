"""The vcrpy layer of the conformance suite: record, scrub, and replay in O(1) per request.

``use_cassette(path)`` replays ``cassettes/<provider>/<scenario>.yaml`` (written by
``harness.cassettes.serializer``) to httpx (sync) and aiohttp (async, under ``httpx_aiohttp``)
alike. Requests are matched on ``harness.cassettes.match.request_key``; a request nothing
matches raises ``UnmatchedRequestError``, a missing cassette ``CassetteNotFoundError``,
both the same from sync and async code.

``IndexedCassette`` keeps vcrpy's replay rules but finds a request's interactions through
a dict from ``request_key`` to interaction indices instead of scanning every interaction.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import vcr
import yaml
from vcr.cassette import Cassette
from vcr.persisters.filesystem import CassetteDecodeError
from vcr.persisters.filesystem import CassetteNotFoundError as VcrCassetteNotFoundError
from vcr.record_mode import RecordMode
from vcr.serialize import deserialize as vcr_deserialize
from vcr.serialize import serialize as vcr_serialize

from harness.cassettes.errors import CassetteError, CassetteNotFoundError, UnmatchedRequestError
from harness.cassettes.load import cassette_problem
from harness.cassettes.match import (
    KEY_FIELDS,
    MATCHERS,
    STRICT,
    RequestMatcher,
    body_excerpt,
    display_uri,
)
from harness.cassettes.scrub import Scrubber
from harness.cassettes.serializer import CassetteSerializer

__all__ = [
    "AtomicPersister",
    "IndexedCassette",
    "make_vcr",
    "observe_requests",
    "recording_transaction",
    "unplayed",
    "use_cassette",
]

SERIALIZER_NAME = "harness-yaml"


def _replay_aiohttp_raw_headers() -> None:
    """vcrpy < 9 replays aiohttp responses with ``headers`` but empty ``raw_headers``,
    which httpx-aiohttp reads: async replays then lose every header (Retry-After,
    content type). Fill ``raw_headers`` from ``headers`` when the stub left them empty.
    Python 3.10 cannot install vcrpy 9, so this keeps 3.10's async path honest."""
    try:
        from vcr.stubs import aiohttp_stubs
    except ImportError:  # aiohttp not installed: nothing to replay through
        return
    build = aiohttp_stubs.build_response
    if getattr(build, "fills_raw_headers", False):
        return

    def build_response(*args: Any, **kwargs: Any) -> Any:
        response = build(*args, **kwargs)
        if not getattr(response, "_raw_headers", None):
            response._raw_headers = tuple(
                (name.encode(), value.encode()) for name, value in response.headers.items()
            )
        return response

    build_response.fills_raw_headers = True  # type: ignore[attr-defined]
    aiohttp_stubs.build_response = build_response


_replay_aiohttp_raw_headers()


Key = tuple[Any, ...]
"""A request's key under the cassette's ``RequestMatcher``."""

_observers: list[Callable[[Any], None]] = []
_observers_lock = threading.Lock()


@contextmanager
def observe_requests(callback: Callable[[Any], None]) -> Iterator[None]:
    """Within the block, ``callback`` is called with every request any cassette is asked
    about (a ``vcr.request.Request``, possibly more than once), as the client sent it:
    before the recording hooks scrub it, credentials included. For checks at replay;
    nothing it sees is recorded."""
    with _observers_lock:
        _observers.append(callback)
    try:
        yield
    finally:
        with _observers_lock:
            _observers.remove(callback)


class IndexedCassette(Cassette):  # type: ignore[misc]  # vcrpy is untyped
    """A ``vcr.cassette.Cassette`` whose request lookup is a dict access.

    The index maps ``request_key`` to the indices of the interactions recorded for it, in
    order; per key a cursor skips interactions already played. vcrpy's rules are kept:
    the first not-yet-played matching interaction answers, identical requests recorded
    several times play in recorded order, and with ``allow_playback_repeats`` the first
    matching interaction answers every time. Used with other matchers than
    ``harness.cassettes.match.MATCHERS``, it falls back to vcrpy's scan.

    When the cassette may not record (``record_mode`` ``none``, or ``once`` with an
    existing file), a request it cannot answer raises ``UnmatchedRequestError``, and a
    missing cassette in ``none`` mode raises ``CassetteNotFoundError`` when loaded.
    """

    def __init__(
        self,
        path: Any,
        *,
        record_command: str | None = None,
        request_matcher: RequestMatcher | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path, **kwargs)
        self.record_command = record_command
        self.matcher = request_matcher or STRICT
        self._indexed = request_matcher is not None or tuple(self._match_on) == tuple(
            MATCHERS.values()
        )
        self._index: dict[Key, list[int]] = {}
        self._keys: list[Key] = []
        self._cursors: dict[Key, int] = {}
        self._cursor_counts: Counter[int] = self.play_counts
        self._last_key: tuple[Any, tuple[Any, Any, Any], Key | None] | None = None
        self._lock = threading.RLock()  # threads replaying at once each get their own answer
        self.unmatched: list[UnmatchedRequestError] = []
        """Every ``UnmatchedRequestError`` raised, in order, even those a client caught."""

    # --- index ------------------------------------------------------------------------

    def append(self, request: Any, response: Any) -> None:
        """Add an interaction (vcrpy's hooks run first) and index it."""
        super().append(request, response)
        self._sync_index()

    def _sync_index(self) -> None:
        """Index interactions added to ``data`` since the last call (rebuild if replaced)."""
        with self._lock:
            if len(self._keys) > len(self.data):
                self._index, self._keys, self._cursors = {}, [], {}
            for index in range(len(self._keys), len(self.data)):
                key = self.matcher.key(self.data[index][0])
                self._keys.append(key)
                self._index.setdefault(key, []).append(index)

    def _key(self, request: Any) -> Key | None:
        """The key of an incoming request after the recording hooks (None: ignored).

        vcrpy asks ``can_play_response_for`` then ``play_response`` about the same
        request object: the last key is reused while method, URI and body are unchanged.
        """
        state = (request.method, request.uri, request.body)
        last = self._last_key
        if last is not None and last[0] is request and _same(last[1], state):
            return last[2]
        filtered = self._before_record_request(request)
        key = self.matcher.key(filtered) if filtered else None
        self._last_key = (request, state, key)
        return key

    def _playable(self, key: Key) -> int | None:
        """The interaction vcrpy would play for ``key``, or None."""
        with self._lock:
            self._sync_index()
            indices = self._index.get(key)
            if not indices:
                return None
            if self.allow_playback_repeats:
                return indices[0]
            if self._cursor_counts is not self.play_counts:  # rewound, or replaced
                self._cursors, self._cursor_counts = {}, self.play_counts
            position = self._cursors.get(key, 0)
            while position < len(indices) and self.play_counts[indices[position]] > 0:
                position += 1
            self._cursors[key] = position
            return indices[position] if position < len(indices) else None

    # --- vcrpy's lookups ------------------------------------------------------------

    def _responses(self, request: Any) -> Any:
        if not self._indexed:
            yield from super()._responses(request)
            return
        key = self._key(request)
        if key is None:
            return
        self._sync_index()
        for index in self._index.get(key, ()):
            yield index, self.data[index][1]

    def __contains__(self, request: Any) -> bool:
        if not self._indexed:
            return bool(super().__contains__(request))
        key = self._key(request)
        return key is not None and self._playable(key) is not None

    def can_play_response_for(self, request: Any) -> bool:
        """vcrpy's rule; when the cassette may not record, True for every request it does
        not ignore, so that ``play_response`` answers it or raises the typed error.
        Observers (``observe_requests``) see the request first, unscrubbed."""
        for observe in tuple(_observers):
            observe(request)
        if not self._indexed:
            return bool(super().can_play_response_for(request))
        key = self._key(request)
        if key is None or self.record_mode == RecordMode.ALL:
            return False
        if self.write_protected:
            return True
        return (self.rewound or self.allow_playback_repeats) and self._playable(key) is not None

    def play_response(self, request: Any) -> Any:
        """The response to play for ``request``, marked played; else
        ``UnmatchedRequestError`` (``CassetteNotFoundError`` if nothing was loaded)."""
        if not self._indexed:
            return super().play_response(request)
        key = self._key(request)
        with self._lock:
            index = None if key is None else self._playable(key)
            if index is not None:
                if self.play_counts[index] == 0 and index < self._loaded_count:
                    self._played_interactions.append(self.data[index])
                self.play_counts[index] += 1
                return self.data[index][1]
        if not self.rewound and not self.data:
            raise self._not_found()
        filtered = self._before_record_request(request) or request
        error = self._unmatched(filtered, key or self.matcher.key(filtered))
        self.unmatched.append(error)
        raise error

    # --- saving: vcrpy compares every new interaction with every old one --------------

    def _new_interactions(self) -> list[tuple[Any, Any]]:
        if not self._indexed:
            return list(super()._new_interactions())
        old = {self.matcher.key(request) for request, _ in self._old_interactions}
        self._sync_index()
        return [item for key, item in zip(self._keys, self.data, strict=True) if key not in old]

    def _rerecorded_interactions(self) -> list[tuple[Any, Any]]:
        if not self._indexed or self.drop_unused_requests:
            return list(super()._rerecorded_interactions())
        self._sync_index()
        recorded = set(self._keys[self._loaded_count :])
        loaded = zip(self._keys[: self._loaded_count], self.data[: self._loaded_count], strict=True)
        kept = [item for key, item in loaded if key not in recorded]
        return kept + list(self.data[self._loaded_count :])

    # --- loading and errors ---------------------------------------------------------

    def _load(self) -> None:
        path = os.fspath(self._path)
        if self.record_mode == RecordMode.NONE and os.path.isfile(path):
            with open(path, "rb") as file:
                if not file.read(4096).strip():  # vcrpy < 9 hands an empty file on
                    raise self._not_found()
        try:
            super()._load()
        except CassetteError:
            raise
        except (yaml.YAMLError, ValueError, KeyError, TypeError) as exc:
            problem = cassette_problem(self._path)  # names the interaction and the key
            raise problem or CassetteError(f"{self._path}: cannot load cassette: {exc}") from None
        if self.record_mode == RecordMode.NONE and not self.rewound:
            raise self._not_found()

    def _not_found(self) -> CassetteNotFoundError:
        path = os.fspath(self._path)
        problem = "is empty or unreadable" if os.path.exists(path) else "does not exist"
        how = self.record_command or "run once with record_mode='once'"
        return CassetteNotFoundError(
            f"cassette {path} {problem}, and record_mode 'none' only replays.\nTo record it: {how}",
            cassette_path=path,
            record_command=self.record_command,
        )

    def _unmatched(self, request: Any, key: Key) -> UnmatchedRequestError:
        path = os.fspath(self._path)
        described = f"{request.method.upper()} {display_uri(request)}"
        played = sum(1 for count in self.play_counts.values() if count)
        lines = [
            f"no recorded interaction matches this request in {path}",
            f"  request:  {described}",
            f"  body:     {body_excerpt(_as_bytes(key[-1]))}",
            f"  matcher:  {self.matcher.name}",
            f"  cassette: interactions: {len(self.data)} recorded, {played} played; "
            f"record_mode {getattr(self.record_mode, 'value', self.record_mode)!r}",
        ]
        closest, field = self._closest(key), None
        if closest is not None:
            recorded = self._keys[closest]
            shown = display_uri(self.data[closest][0])
            lines.append(f"  closest:  [{closest}] {recorded[0]} {shown}")
            difference = self.matcher.describe(key, recorded)
            if difference is None:
                lines.append(
                    "            identical, but already played: each recorded interaction "
                    "plays once\n"
                    "            (record the request again, or allow_playback_repeats=True)"
                )
            else:
                field = difference[0]
                lines.append(f"  differs:  {difference[0]} {difference[1]}")
        return UnmatchedRequestError(
            "\n".join(lines), cassette_path=path, request=described, closest=closest, field=field
        )

    def _closest(self, key: Key) -> int | None:
        """The recorded request most like ``key``: an identical one, else most equal
        fields, then longest common body prefix, then first recorded."""
        self._sync_index()
        if key in self._index:
            return self._index[key][0]
        best: tuple[int, int, int] | None = None
        for index, recorded in enumerate(self._keys):
            equal = sum(1 for a, b in zip(key[:-1], recorded[:-1], strict=True) if a == b)
            score = (equal, _common_prefix(_as_bytes(key[-1]), _as_bytes(recorded[-1])), -index)
            if best is None or score > best:
                best = score
        return None if best is None else -best[2]


def _same(a: tuple[Any, Any, Any], b: tuple[Any, Any, Any]) -> bool:
    """Same method and URI, and the very same body object (a file body never is)."""
    return a[0] == b[0] and a[1] == b[1] and a[2] is b[2] and not hasattr(a[2], "read")


def _as_bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _common_prefix(a: bytes, b: bytes) -> int:
    size = min(len(a), len(b))
    if a[:size] == b[:size]:
        return size
    low, high = 0, size
    while low < high:  # binary search on slice equality: C-speed comparisons
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def unplayed(cassette: Any) -> list[int]:
    """Indices of the cassette's interactions that were never played."""
    return [index for index in range(len(cassette.data)) if cassette.play_counts[index] == 0]


class AtomicPersister:
    """vcrpy persister reading and writing cassettes as UTF-8 whatever the locale, and
    saving atomically: the new text goes to a temporary file in the cassette's directory,
    which then replaces the cassette (``os.replace``). Whatever fails or kills the process
    on the way, the cassette is the old one or the new one, never a half-written one."""

    @staticmethod
    def load_cassette(cassette_path: str | os.PathLike[str], serializer: Any) -> Any:
        path = Path(cassette_path)
        if not path.is_file():
            raise VcrCassetteNotFoundError()
        try:
            data = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise CassetteDecodeError("Can't read Cassette, Encoding is broken") from err
        if not data.strip():  # an empty file is a missing cassette, as in vcrpy 9
            raise VcrCassetteNotFoundError()
        return vcr_deserialize(data, serializer)

    @staticmethod
    def save_cassette(
        cassette_path: str | os.PathLike[str], cassette_dict: dict[str, Any], serializer: Any
    ) -> None:
        data = vcr_serialize(cassette_dict, serializer).encode("utf-8")
        path = Path(cassette_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(temporary, flags, 0o666)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileNotFoundError):  # keep the old file's permissions
                os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def make_vcr(
    scrubber: Scrubber | None = None, origins: Mapping[str, str] | None = None, **options: Any
) -> vcr.VCR:
    """A ``vcr.VCR`` with the harness serializer, persister, matchers, decompression and
    scrubbing. ``origins`` maps a base URL (a loopback emulator's) to the public origin
    requests to it are recorded and matched under; it may be filled in later."""
    scrubber = scrubber or Scrubber()
    before_record_request: Callable[[Any], Any] = scrubber.request
    if origins is not None:
        before_record_request = _origin_rewriter(origins, scrubber.request)
    config: dict[str, Any] = {
        "serializer": SERIALIZER_NAME,
        "match_on": KEY_FIELDS,
        "decode_compressed_response": True,
        "before_record_request": before_record_request,
        "before_record_response": scrubber.response,
        **options,
    }
    recorder = vcr.VCR(**config)
    recorder.register_serializer(SERIALIZER_NAME, CassetteSerializer(scrubber))
    recorder.register_persister(AtomicPersister)
    for name, matcher in MATCHERS.items():
        recorder.register_matcher(name, matcher)
    return recorder


def _origin_rewriter(
    origins: Mapping[str, str], then: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    def rewrite(request: Any) -> Any:
        for base, public in origins.items():
            if request.uri.startswith(base):
                request.uri = public + request.uri[len(base) :]
                if "host" in {name.lower() for name in request.headers}:
                    request.headers = {
                        name: (urlsplit(public).netloc if name.lower() == "host" else value)
                        for name, value in request.headers.items()
                    }
                break
        return then(request)

    return rewrite


def use_cassette(
    path: str | os.PathLike[str],
    *,
    record_mode: str = "none",
    allow_playback_repeats: bool = False,
    record_command: str | None = None,
    matcher: RequestMatcher = STRICT,
    origins: Mapping[str, str] | None = None,
) -> AbstractContextManager[IndexedCassette]:
    """Replay (or record) ``path``: a context manager yielding the ``IndexedCassette``.

    ``record_mode`` is vcrpy's (``none``: replay only; ``once``: record a missing
    cassette). ``record_command`` is shown in ``CassetteNotFoundError`` messages.
    ``matcher`` decides which recorded request a request is (``STRICT`` by default; see
    ``harness.cassettes.semantic`` for the one other clients replay with). ``origins``
    rewrites a loopback emulator's base URL to the provider's public origin before a
    request is matched or recorded. If the block raises, nothing is saved: a failed
    recording never passes for a complete one.
    """
    config = make_vcr(origins=origins).get_merged_config(
        path=os.fspath(path),
        record_mode=record_mode,
        allow_playback_repeats=allow_playback_repeats,
        record_on_exception=False,
    )
    config["record_command"] = record_command
    config["request_matcher"] = matcher
    return cast(AbstractContextManager[IndexedCassette], IndexedCassette.use(**config))


@contextmanager
def recording_transaction(path: Path, *, keep: bool) -> Iterator[Path]:
    """Record as a transaction: yield a temporary cassette path beside ``path`` (a copy of
    ``path`` when ``keep``, for modes that add to a cassette), which replaces ``path``
    only if the block succeeds and the recording wrote it. Whatever fails or interrupts
    the block (``KeyboardInterrupt`` included), the temporary file is removed and
    ``path`` is left byte-identical."""
    temporary = path.with_name(f".{path.stem}.recording-{uuid.uuid4().hex[:8]}{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if keep and path.exists():
        shutil.copy2(path, temporary)
    try:
        yield temporary
        if temporary.exists():
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
