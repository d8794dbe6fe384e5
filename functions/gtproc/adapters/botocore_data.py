"""botocore's data loader and event naming made cheaper for a cold start, with the same results.

Creating a client loads botocore's JSON data: `endpoints.json` (1.25 MB) once, then each service's
model and endpoint rule set (gzipped, up to 1.4 MB decompressed). botocore decodes them with the
stdlib json module into OrderedDicts, and checks that the service exists by listing all 400+ service
folders, twice (model, rule set). Here:
- files are decoded with msgspec (~3x faster). What msgspec refuses (NaN, a lone surrogate, a
  number out of range) goes to botocore's own decoding, which gives its result or its error;
- `endpoints.json` keeps each partition's services (87-305) as raw JSON until botocore reads one (a function
  reads 3): 1.5 ms instead of 7. A file of another shape than botocore's is decoded whole;
- the existence check looks at the one service asked for; the full listing is made only if
  something iterates it (an unknown service's error message lists them all, as botocore's does).
Dicts instead of OrderedDicts: botocore only reads the data (dicts keep their order too).

Each event name botocore emits or registers a handler on goes through its aliaser (65 old service
names to new). A name not seen yet is split once per alias, each of the 53 one-part aliases it lacks
raising ValueError, and every client starts with an empty cache: ~250 names and ~8 ms of a first
record. `FastAliaser` gives the same names, splitting once, and its copies (one per client) share
the cache; a `FastSession` registers its 127 built-in handlers through one. The Lambda runtime's
botocore is not the one tested here: before it is used, the FastAliaser is checked against that
botocore's own aliaser on a sample of names, and left out if one differs.

`tests/unit/test_botocore_data.py` checks every model the functions load equals botocore's own,
and each name aliased as botocore does.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import botocore.session
import msgspec
from botocore.hooks import EventAliaser
from botocore.loaders import JSONFileLoader, Loader

_decode = msgspec.json.Decoder().decode
_logger = logging.getLogger("botocore.loaders")  # botocore's loader logs each file it loads there
_hooks_logger = logging.getLogger("botocore.hooks")


class LazyDict(dict[Any, Any]):
    """A dict whose values arrive as raw JSON, each decoded when first read.

    What reads the values as a whole (views, equality, copies, repr, pickling) decodes them all first.
    `__iter__` is overridden so that `dict(d)`, `{**d}` and `x.update(d)` read through `__getitem__`:
    CPython copies the values of a dict subclass that keeps dict's own iterator directly. One read
    still sees a raw value: a C-level read of the entries by other code (`OrderedDict.__eq__(od, d)`,
    orjson, msgspec's encoders). botocore reads its endpoint data by key only.
    """

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if type(value) is msgspec.Raw:
            value = _decode_raw(value)
            dict.__setitem__(self, key, value)
        return value

    def __iter__(self) -> Iterator[Any]:
        return dict.__iter__(self)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401  # dict.get would not decode

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        dict.__setitem__(self, key, default)
        return default

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            value = self[key]
            dict.__delitem__(self, key)
            return value
        return dict.pop(self, key, *default)  # the default, or dict's KeyError

    def popitem(self) -> tuple[Any, Any]:
        if not dict.__len__(self):
            return dict.popitem(self)  # dict's KeyError
        key = next(reversed(dict.keys(self)))
        return key, self.pop(key)

    def _decoded(self) -> LazyDict:
        for key in dict.keys(self):
            self[key]
        return self

    def values(self) -> Any:
        return dict.values(self._decoded())

    def items(self) -> Any:
        return dict.items(self._decoded())

    def copy(self) -> LazyDict:
        return LazyDict(dict.items(self._decoded()))

    def __eq__(self, other: object) -> bool:
        return dict.__eq__(self._decoded(), other)

    def __ne__(self, other: object) -> bool:
        return dict.__ne__(self._decoded(), other)

    __hash__ = None  # type: ignore[assignment]  # unhashable, as a dict

    def __or__(self, other: Any) -> Any:
        return dict.__or__(self._decoded(), other)

    def __ror__(self, other: Any) -> Any:
        return dict.__ror__(self._decoded(), other)

    def __repr__(self) -> str:
        return dict.__repr__(self._decoded())


def _decode_raw(raw: msgspec.Raw) -> Any:
    """A raw value as botocore would have decoded it. msgspec checks a raw value's syntax only: what
    it then refuses to decode (a number out of range, a lone surrogate) is the stdlib json module's,
    as in botocore (the file's UTF-8 was checked when it was loaded)."""
    try:
        return _decode(raw)
    except msgspec.DecodeError:
        return json.loads(bytes(raw).decode("utf-8"), object_pairs_hook=OrderedDict)


class _Partition(msgspec.Struct, forbid_unknown_fields=True):
    """A partition of endpoints.json, its keys in botocore's file's order; any other key sends the
    file to a whole decode."""

    defaults: Any = msgspec.UNSET
    dnsSuffix: Any = msgspec.UNSET
    partition: Any = msgspec.UNSET
    partitionName: Any = msgspec.UNSET
    regionRegex: Any = msgspec.UNSET
    regions: Any = msgspec.UNSET
    services: dict[str, msgspec.Raw] | msgspec.UnsetType = msgspec.UNSET


class _Endpoints(msgspec.Struct, forbid_unknown_fields=True):
    partitions: list[_Partition] | msgspec.UnsetType = msgspec.UNSET
    version: Any = msgspec.UNSET


_decode_endpoints = msgspec.json.Decoder(_Endpoints).decode


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    return {name: value for name in struct.__struct_fields__ if (value := getattr(struct, name)) is not msgspec.UNSET}


def _endpoints(payload: bytes) -> dict[str, Any]:
    """endpoints.json with each partition's services (up to 305, of which a function uses 3) decoded on
    first read: a quarter of the time of decoding it whole. The keys of the file and of each
    partition come in the fields' order, which is botocore's file's (botocore reads them by name)."""
    payload.decode("utf-8")  # as botocore does first: a file that is not UTF-8 fails here, with its error
    doc = _fields(_decode_endpoints(payload))
    if "partitions" in doc:
        doc["partitions"] = [_fields(p) for p in doc["partitions"]]
        for partition in doc["partitions"]:
            if "services" in partition:
                partition["services"] = LazyDict(partition["services"])
    return doc


class MsgspecFileLoader(JSONFileLoader):
    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            payload = fp.read()
        _logger.debug("Loading JSON file: %s", full_path)
        if os.path.basename(full_path) == "endpoints.json":
            try:
                return _endpoints(payload)
            except Exception:
                pass  # a shape of the file not foreseen here: decoded whole, below
        try:
            return _decode(payload)
        except Exception:
            return super()._load_file(full_path, open_method)  # botocore's verdict, value or error


class KnownServices(Sequence[str]):
    """`Loader.list_available_services(type_name)` as `load_service_model` uses it: `name in ...`."""

    def __init__(self, loader: FastLoader, type_name: str) -> None:
        self._loader, self._type_name = loader, type_name
        self._found: dict[str, bool] = {}
        self._listing: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name not in self._found:
            self._found[name] = self._loader.has_service(name, self._type_name)
        return self._found[name]

    def _all(self) -> list[str]:
        if self._listing is None:
            self._listing = Loader.list_available_services(self._loader, self._type_name)
        return self._listing

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return self._all() == (other._all() if isinstance(other, KnownServices) else other)

    __hash__ = None  # type: ignore[assignment]  # unhashable, as the list it stands for

    def __repr__(self) -> str:
        return repr(self._all())


class FastLoader(Loader):
    FILE_LOADER_CLASS = MsgspecFileLoader

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known: dict[str, KnownServices] = {}

    def list_available_services(self, type_name: str) -> KnownServices:  # type: ignore[override]
        if type_name not in self._known:
            self._known[type_name] = KnownServices(self, type_name)
        return self._known[type_name]

    def has_service(self, name: str, type_name: str) -> bool:
        """Whether botocore's listing of `type_name` would hold `name`, by looking in its folder only."""
        # The listing holds folder names: never a path, nor "." or "..".
        if name in ("", os.curdir, os.pardir) or os.sep in name or (os.altsep is not None and os.altsep in name):
            return False
        for location in self._potential_locations():
            folder = os.path.join(location, name)
            if not os.path.isdir(folder):
                continue
            if any(self.file_loader.exists(os.path.join(folder, version, type_name)) for version in os.listdir(folder)):
                return True
        return False


class FastAliaser(EventAliaser):
    """botocore's aliaser: the same name for each event, found with one split, cached across copies."""

    def __init__(
        self, event_emitter: Any, event_aliases: dict[str, str] | None = None, cache: dict[str, str] | None = None
    ) -> None:
        super().__init__(event_emitter, event_aliases)
        if cache is not None:
            self._alias_name_cache = cache

    def _alias_event_name(self, event_name: str) -> str:
        cached = self._alias_name_cache.get(event_name)
        if cached is not None:
            return cached
        parts = event_name.split(".")
        present = set(parts)
        new_name = event_name
        # botocore's rule: the first alias, in order, that names a part (or, dotted, occurs in the name).
        for old_part, new_part in self._event_aliases.items():
            if "." not in old_part:
                if old_part in present:
                    parts[parts.index(old_part)] = new_part
                    new_name = ".".join(parts)
                    break
            elif old_part in event_name:
                self._replace_subsection(parts, old_part.split("."), new_part)
                new_name = ".".join(parts)
                break
        if new_name != event_name:
            _hooks_logger.debug("Changing event name from %s to %s", event_name, new_name)  # as botocore logs it
        self._alias_name_cache[event_name] = new_name
        return new_name

    def __copy__(self) -> FastAliaser:
        return FastAliaser(copy.copy(self._emitter), copy.copy(self._event_aliases), self._alias_name_cache)


_HOOKS = ((JSONFileLoader, "_load_file"), (JSONFileLoader, "exists"), (Loader, "_potential_locations"))


def install(session: Any) -> None:
    """Give `session` a FastLoader with the search paths its loader has (AWS_DATA_PATH applied). A
    loader of another class or file loader (a caller's own), or a botocore whose Loader differs, is
    kept: slower, never wrong."""
    try:
        own = session.get_component("data_loader")
        mine = type(own) is Loader and type(own.file_loader) is JSONFileLoader
        # The private methods used here, as botocore has had them since it reads gzipped models.
        if not mine or not all(hasattr(c, m) for c, m in _HOOKS):
            return
        fast = FastLoader(extra_search_paths=list(own.search_paths), include_default_search_paths=False)
        if fast.search_paths != own.search_paths or fast.extras_types != own.extras_types:
            return
    except Exception:
        return
    session.register_component("data_loader", fast)


_ALIASER_PARTS = ("_emitter", "_event_aliases", "_alias_name_cache", "_replace_subsection")


def _samples(aliases: dict[str, str]) -> list[str]:
    """Names that reach each kind of alias (a whole part, a dotted run, one inside a part) and none."""
    one_part = [old for old in aliases if "." not in old][:2]
    dotted = [old for old in aliases if "." in old][:2]
    if not one_part or not dotted:
        return []
    names = [f"before-call.{old}.GetObject" for old in one_part + dotted]
    return [*names, f"creating-client-class.x{one_part[0]}", f"{dotted[0]}.{one_part[0]}", "before-send.s3.GetObject"]


def _faster(aliaser: Any) -> FastAliaser | None:
    """A FastAliaser over the same emitter, aliases and cache; None for another aliaser (a caller's
    own) or a botocore whose aliaser answers otherwise on the samples."""
    if type(aliaser) is not EventAliaser or not all(hasattr(aliaser, name) for name in _ALIASER_PARTS):
        return None
    aliases = aliaser._event_aliases
    samples = _samples(aliases) if isinstance(aliases, dict) else []
    # Each on a fresh cache, so neither answer is the other's.
    theirs, ours = EventAliaser(aliaser._emitter, aliases), FastAliaser(aliaser._emitter, aliases)
    if not samples or any(ours._alias_event_name(n) != theirs._alias_event_name(n) for n in samples):
        return None
    return FastAliaser(aliaser._emitter, aliases, aliaser._alias_name_cache)


class FastSession(botocore.session.Session):
    """botocore's session, whose built-in handlers (127 in botocore 1.44) are registered through a FastAliaser."""

    def _register_builtin_handlers(self, events: Any) -> None:
        fast = _faster(events) if events is getattr(self, "_events", None) else None
        if fast is not None:
            self._events = events = fast
        super()._register_builtin_handlers(events)
