"""The vcrpy layer of the conformance suite: record, scrub, and replay in O(1) per request.

``use_cassette(path)`` replays ``cassettes/<provider>/<scenario>.yaml`` (written by
``harness.cassettes.serializer``) to httpx (sync) and aiohttp (async, under ``httpx_aiohttp``)
alike. Requests are matched on ``harness.cassettes.match.request_key``; a request nothing
matches raises ``UnmatchedRequestError``, a missing cassette ``CassetteNotFoundError``,
both the same from sync and async code.

``IndexedCassette`` keeps vcrpy's replay rules but finds a request's interactions through
a dict from ``request_key`` to interaction indices instead of scanning every interaction.

The suite replays each cassette in several modes, so two things are done once per process
instead of once per ``use_cassette`` (each replay still gets a cassette of its own: fresh
play counts, cursors and unmatched requests, and copies of the responses it plays):

- replaying (``record_mode="none"``), a cassette file is parsed, run through the recording
  hooks and indexed once per matcher; later replays of the unchanged file (same size,
  mtime and inode) start from that state (``_Snapshots``);
- vcrpy's patchers (one per HTTP library it stubs: ~30 ``mock.patch`` objects, a class
  built per stub) are built once, bound to a switch that forwards to the cassette in use,
  and entered and left for each cassette (``_Switchboard``). A cassette entered while
  another one is in use gets vcrpy's own patchers, as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import vcr
import yaml
from vcr.cassette import Cassette
from vcr.patch import CassettePatcherBuilder, ConnectionRemover
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
from harness.cassettes.serializer import CassetteSerializer, plain_copy

__all__ = [
    "SNAPSHOTS",
    "AtomicPersister",
    "CassetteUse",
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

    ``play_response`` returns a copy of the recorded response (vcrpy's ``http.client``
    stub edits the headers of what it is given), so a replay never changes the cassette.
    """

    def __init__(
        self,
        path: Any,
        *,
        record_command: str | None = None,
        request_matcher: RequestMatcher | None = None,
        load_cache: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(path, **kwargs)
        self.record_command = record_command
        self.matcher = request_matcher or STRICT
        self._load_cache = load_cache
        """Replaying, start from the file's cached loaded state (only for the standard
        serializer and hooks: ``use_cassette`` without ``origins`` sets it)."""
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
                return plain_copy(self.data[index][1])
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
        cacheable = self._load_cache and self.record_mode == RecordMode.NONE
        stamp = _stamp(path) if cacheable else None
        if stamp is not None:
            snapshot = SNAPSHOTS.get(path, stamp, self.matcher)
            if snapshot is not None:
                self._adopt(snapshot)
                return
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
        if stamp is not None:
            self._sync_index()
            SNAPSHOTS.put(path, stamp, self.matcher, self._snapshot())

    def _snapshot(self) -> _Snapshot:
        return _Snapshot(
            data=tuple(self.data),
            keys=tuple(self._keys),
            index={key: tuple(indices) for key, indices in self._index.items()},
            metadata=getattr(self, "_metadata", None),
        )

    def _adopt(self, snapshot: _Snapshot) -> None:
        """Take the state vcrpy's ``_load`` leaves, from a snapshot of the same file."""
        self.data = list(snapshot.data)
        self._old_interactions = list(snapshot.data)
        self._loaded_count = len(self.data)
        self._keys = list(snapshot.keys)
        self._index = {key: list(indices) for key, indices in snapshot.index.items()}
        if snapshot.metadata is not None:
            self._metadata = plain_copy(snapshot.metadata)
        self.dirty = False
        self.rewound = True

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


# --- loading once per process ---------------------------------------------------------


Stamp = tuple[int, int, int, int]
"""What identifies one version of a file: device, inode, size and mtime (ns)."""


def _stamp(path: str) -> Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


@dataclass(frozen=True)
class _Snapshot:
    """A cassette as ``IndexedCassette._load`` leaves it: the interactions after the
    recording hooks, and their keys and index under one matcher."""

    data: tuple[tuple[Any, Any], ...]
    keys: tuple[Key, ...]
    index: dict[Key, tuple[int, ...]]
    metadata: Any


class _Snapshots:
    """Loaded cassettes by (path, matcher), valid while the file's ``Stamp`` is unchanged
    (a recording replaces the file: new inode). At most ``size`` of them, least recently
    used dropped first."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, RequestMatcher], tuple[Stamp, _Snapshot]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, path: str, stamp: Stamp, matcher: RequestMatcher) -> _Snapshot | None:
        with self._lock:
            entry = self._entries.get((path, matcher))
            if entry is None or entry[0] != stamp:
                return None
            self._entries.move_to_end((path, matcher))
            return entry[1]

    def put(self, path: str, stamp: Stamp, matcher: RequestMatcher, snapshot: _Snapshot) -> None:
        with self._lock:
            self._entries[(path, matcher)] = (stamp, snapshot)
            self._entries.move_to_end((path, matcher))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


SNAPSHOTS = _Snapshots()
"""The process's loaded cassettes (``SNAPSHOTS.clear()`` forgets them)."""


# --- patching once per process ---------------------------------------------------------


class _CassetteSwitch:
    """What vcrpy's patchers are bound to instead of a cassette: every attribute is the
    cassette in use (the last one used, between uses)."""

    def __init__(self) -> None:
        object.__setattr__(self, "cassette", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "cassette"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "cassette"), name, value)

    def __len__(self) -> int:
        return len(object.__getattribute__(self, "cassette"))

    def __contains__(self, request: Any) -> bool:
        return request in object.__getattribute__(self, "cassette")

    def __str__(self) -> str:
        return str(object.__getattribute__(self, "cassette"))


_PATCH_TYPE = type(mock.patch.object(os, "sep", os.sep))
"""``mock.patch.object``'s patcher class: entered and left any number of times, in turn."""

_ABSENT = object()


class _SetAttribute:
    """One ``mock.patch.object(target, attribute, new)`` as two ``setattr`` calls, with
    ``mock``'s rule for leaving: an attribute the target held itself is put back, an
    inherited one deleted (the lookup finds the inherited one again)."""

    __slots__ = ("_saved", "attribute", "new", "target")

    def __init__(self, target: Any, attribute: str, new: Any) -> None:
        self.target, self.attribute, self.new = target, attribute, new
        self._saved: list[tuple[bool, Any]] = []

    @classmethod
    def of(cls, patcher: Any) -> Any:
        """The equivalent of a plain ``mock.patch.object`` patcher, else the patcher."""
        plain = (
            isinstance(patcher, _PATCH_TYPE)
            and not patcher.create
            and patcher.new is not mock.DEFAULT
            and patcher.spec is None
            and patcher.spec_set is None
            and patcher.autospec is None
            and patcher.new_callable is None
            and not patcher.kwargs
            and not patcher.additional_patchers
        )
        return cls(patcher.getter(), patcher.attribute, patcher.new) if plain else patcher

    def __enter__(self) -> Any:
        own = getattr(self.target, "__dict__", {})
        local = self.attribute in own
        original = own[self.attribute] if local else getattr(self.target, self.attribute)
        setattr(self.target, self.attribute, self.new)
        self._saved.append((local, original))
        return self.new

    def __exit__(self, *exc_info: object) -> None:
        local, original = self._saved.pop()
        if local:
            setattr(self.target, self.attribute, original)
            return
        delattr(self.target, self.attribute)
        if getattr(self.target, self.attribute, _ABSENT) is _ABSENT:
            setattr(self.target, self.attribute, original)


def _enter_all(patchers: Iterable[Any]) -> ExitStack:
    """Enter every patcher; the stack leaves them in reverse order (all of them, if one
    fails to enter)."""
    with ExitStack() as stack:
        for patcher in patchers:
            stack.enter_context(patcher)
        return stack.pop_all()


class _Switchboard:
    """vcrpy's patchers, built once (``CassettePatcherBuilder`` over a ``_CassetteSwitch``)
    and entered for one cassette at a time. A cassette with custom or skipped patchers, or
    entered while another one is in use (nested, or in another thread), gets patchers of
    its own from vcrpy, as ``Cassette.use`` does."""

    def __init__(self) -> None:
        self._switch = _CassetteSwitch()
        self._patchers: list[Any] | None = None
        self._busy = False
        self._reusable = True
        self._lock = threading.Lock()

    def enter(self, cassette: Any) -> Callable[[], None]:
        """Patch for ``cassette``; returns the function that unpatches."""
        plain = not cassette.custom_patches and not getattr(cassette, "skip_patchers", ())
        with self._lock:
            shared = plain and self._reusable and not self._busy
            if shared:
                self._busy = True
                object.__setattr__(self._switch, "cassette", cassette)
        if not shared:
            return _enter_all(CassettePatcherBuilder(cassette).build()).close
        try:
            if self._patchers is None:
                patchers = list(CassettePatcherBuilder(self._switch).build())
                if all(isinstance(p, (_PATCH_TYPE, ConnectionRemover)) for p in patchers):
                    self._patchers = [_SetAttribute.of(p) for p in patchers]
                else:  # a patcher this vcrpy builds that may not be entered twice
                    self._reusable = False
                    return _enter_all(patchers).close
            stack = _enter_all(self._patchers)
        except BaseException:
            self._busy = False
            raise

        def leave() -> None:
            try:
                stack.close()
            finally:
                self._busy = False

        return leave


SWITCHBOARD = _Switchboard()


class CassetteUse:
    """``use_cassette``'s context manager: what vcrpy's ``CassetteContextDecorator`` does
    (load the cassette, patch, save it on leaving unless the block raised and
    ``record_on_exception`` is false, unpatch), with the patchers of ``SWITCHBOARD``;
    the patches are removed even when saving fails."""

    _NOT_CASSETTE_ARGUMENTS = ("path_transformer", "func_path_generator", "record_on_exception")

    def __init__(self, cassette_class: type[IndexedCassette], **config: Any) -> None:
        self._class = cassette_class
        self._config = config
        self._cassette: IndexedCassette | None = None
        self._leave: Callable[[], None] | None = None

    def __enter__(self) -> IndexedCassette:
        if self._cassette is not None:
            raise RuntimeError("cassette already open")
        kwargs = dict(self._config)
        for name in self._NOT_CASSETTE_ARGUMENTS:
            kwargs.pop(name, None)
        transformer = self._config.get("path_transformer")
        if transformer:
            kwargs["path"] = transformer(kwargs["path"])
        cassette: IndexedCassette = self._class.load(**kwargs)
        self._leave = SWITCHBOARD.enter(cassette)
        self._cassette = cassette
        return cassette

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        cassette, leave = self._cassette, self._leave
        self._cassette = self._leave = None
        try:
            if cassette is not None and (
                self._config.get("record_on_exception", True) or kind is None
            ):
                cassette._save()
        finally:
            if leave is not None:
                leave()


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
    config["load_cache"] = origins is None  # the standard hooks: loaded state can be shared
    return CassetteUse(IndexedCassette, **config)


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
