"""The functions' botocore loader and aliaser (adapters/botocore_data.py) give exactly what botocore's give."""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import re
from pathlib import Path
from typing import Any

import botocore.session
import msgspec
import pytest
from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.hooks import EventAliaser, HierarchicalEmitter
from botocore.loaders import JSONFileLoader, Loader
from botocore.utils import EVENT_ALIASES
from gtproc.adapters import aws, botocore_data
from gtproc.adapters.botocore_data import FastAliaser, FastLoader, LazyDict
from hypothesis import given
from hypothesis import strategies as st

ADAPTERS = Path(aws.__file__).parent
# Every service an adapter makes a client for (the functions' and the CLI's).
SERVICES = sorted({m for f in ADAPTERS.glob("*.py") for m in re.findall(r'client\("([a-z0-9-]+)"', f.read_text())})
TOP_LEVEL = ("endpoints", "partitions", "sdk-default-configuration", "_retry")


def _plain(value: object) -> object:
    """The value with each dict (a LazyDict too, read through its own methods) made a plain dict."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _same(ours: object, theirs: object) -> None:
    # Equal, and in the same order: json.dumps keeps each dict's order (== between dicts would not).
    # Plain dicts first: botocore's OrderedDicts compare by their C-level entries (see LazyDict).
    assert _plain(ours) == theirs
    assert json.dumps(ours) == json.dumps(theirs)


def _model_files(service: str) -> list[str]:
    """Each data file of the service's latest API version, by the name botocore loads it with."""
    loader = Loader()
    version = loader.determine_latest_version(service, "service-2")
    folder = Path(loader.BUILTIN_DATA_PATH) / service / version
    names = {p.name.removesuffix(".gz").removesuffix(".json") for p in folder.iterdir()}
    return [f"{service}/{version}/{name}" for name in sorted(names)]


def test_the_adapters_services_are_found() -> None:
    assert {"s3", "dynamodb", "events", "sqs", "sagemaker"} <= set(SERVICES)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_data_is_botocores(name: str) -> None:
    _same(FastLoader().load_data(name), Loader().load_data(name))


@pytest.mark.parametrize("service", SERVICES)
def test_every_file_of_each_service_is_botocores(service: str) -> None:
    files = _model_files(service)
    assert any(f.endswith("/service-2") for f in files) and any(f.endswith("/endpoint-rule-set-1") for f in files)
    for name in files:
        _same(FastLoader().load_data(name), Loader().load_data(name))


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2"])
def test_service_models_with_extras_are_botocores(service: str, type_name: str) -> None:
    try:
        theirs = Loader().load_service_model(service, type_name)
    except DataNotFoundError:
        with pytest.raises(DataNotFoundError):
            FastLoader().load_service_model(service, type_name)
        return
    _same(FastLoader().load_service_model(service, type_name), theirs)


@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1", "waiters-2"])
def test_known_services_answer_as_botocores_listing(type_name: str) -> None:
    listing = Loader().list_available_services(type_name)
    known = FastLoader().list_available_services(type_name)
    for name in [*listing, "nope", "", ".", "..", "../s3", "s3/2006-03-01", "S3", " s3", None]:
        assert (name in known) is (name in listing), name
    assert list(known) == listing and len(known) == len(listing) and known == listing
    assert known[0] == listing[0] and known[-2:] == listing[-2:]


def test_an_unknown_service_fails_as_in_botocore() -> None:
    with pytest.raises(UnknownServiceError) as theirs:
        Loader().load_service_model("no-such-service", "service-2")
    with pytest.raises(UnknownServiceError) as ours:
        FastLoader().load_service_model("no-such-service", "service-2")
    assert str(ours.value) == str(theirs.value)


def _data_path(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [str(tmp_path)]


def test_what_msgspec_refuses_is_decoded_by_botocore(tmp_path: Path) -> None:
    # NaN and a lone surrogate are valid to the stdlib json module, not to msgspec.
    paths = _data_path(tmp_path, {"odd.json": '{"a": NaN, "b": "\\ud800", "c": 1e400}'})
    ours = FastLoader(extra_search_paths=paths).load_data("odd")
    theirs = Loader(extra_search_paths=paths).load_data("odd")
    assert math.isnan(ours["a"]) and ours["b"] == theirs["b"] == "\ud800" and ours["c"] == theirs["c"] == math.inf


def test_a_broken_file_fails_with_botocores_error(tmp_path: Path) -> None:
    paths = _data_path(tmp_path, {"broken.json": '{"a": [1, 2'})
    with pytest.raises(ValueError) as theirs:
        Loader(extra_search_paths=paths).load_data("broken")
    with pytest.raises(ValueError) as ours:
        FastLoader(extra_search_paths=paths).load_data("broken")
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_the_endpoints_services_are_decoded_when_read() -> None:
    ours, theirs = FastLoader().load_data("endpoints"), Loader().load_data("endpoints")
    services = ours["partitions"][0]["services"]
    assert type(services) is LazyDict and len(services) == len(theirs["partitions"][0]["services"]) > 100
    assert all(type(dict.__getitem__(services, name)) is msgspec.Raw for name in services)
    assert services["s3"] == theirs["partitions"][0]["services"]["s3"]
    assert type(dict.__getitem__(services, "s3")) is dict  # decoded once, then kept
    assert services.get("no-such-service", "absent") == "absent"
    assert type(dict.__getitem__(services, "dynamodb")) is msgspec.Raw  # the others are still raw


@pytest.mark.parametrize(
    "text",
    [
        '{"partitions": [{"partition": "p", "services": {"s": {}}, "another": 1}], "version": 3}',
        '{"partitions": [{"partition": "p", "services": {"s": {}}}], "version": 3, "another": 1}',
        '{"partitions": [{"partition": "p", "services": [1]}], "version": 3}',
        '{"partitions": {"p": 1}}',
        "[1, 2]",
        '{"partitions": [{"partition": "p", "services": {"s": NaN}}]}',
    ],
)
def test_an_unforeseen_endpoints_file_is_decoded_whole(tmp_path: Path, text: str) -> None:
    paths = _data_path(tmp_path, {"endpoints.json": text})
    ours = FastLoader(extra_search_paths=paths).load_data("endpoints")
    theirs = Loader(extra_search_paths=paths).load_data("endpoints")
    assert json.dumps(ours) == json.dumps(theirs)
    assert not any(isinstance(d, LazyDict) for d in _dicts(ours))


def test_an_endpoints_file_without_services_keeps_its_keys(tmp_path: Path) -> None:
    paths = _data_path(
        tmp_path, {"endpoints.json": '{"version": 3, "partitions": [{"regions": {}, "partition": "p"}]}'}
    )
    ours = FastLoader(extra_search_paths=paths).load_data("endpoints")
    # The same dicts; their keys in the fields' order, which is that of botocore's own file.
    assert _plain(ours) == Loader(extra_search_paths=paths).load_data("endpoints")
    assert json.dumps(ours) == '{"partitions": [{"partition": "p", "regions": {}}], "version": 3}'


@pytest.mark.parametrize(
    ("value", "expected", "lazy"),
    [
        ("1e400", math.inf, True),  # msgspec passes it as raw, then refuses to decode it
        ('{"b": 1, "a": [2]}', {"b": 1, "a": [2]}, True),
        ('"\\ud800"', "\ud800", False),  # refused when the file is read: decoded whole
    ],
)
def test_a_service_msgspec_refuses_is_decoded_as_botocore_does(
    tmp_path: Path, value: str, expected: object, lazy: bool
) -> None:
    text = '{"partitions": [{"partition": "p", "services": {"s": {"x": ' + value + '}, "t": {}}}], "version": 3}'
    paths = _data_path(tmp_path, {"endpoints.json": text})
    ours = FastLoader(extra_search_paths=paths).load_data("endpoints")
    theirs = Loader(extra_search_paths=paths).load_data("endpoints")
    assert (type(ours["partitions"][0]["services"]) is LazyDict) is lazy
    assert ours["partitions"][0]["services"]["s"]["x"] == theirs["partitions"][0]["services"]["s"]["x"] == expected
    assert json.dumps(ours) == json.dumps(theirs)


def test_an_endpoints_file_that_is_not_utf8_fails_when_loaded_as_in_botocore(tmp_path: Path) -> None:
    (tmp_path / "endpoints.json").write_bytes(b'{"partitions": [{"services": {"s": {"x": "\xff"}}}]}')
    with pytest.raises(UnicodeDecodeError):
        Loader(extra_search_paths=[str(tmp_path)]).load_data("endpoints")
    with pytest.raises(UnicodeDecodeError):
        FastLoader(extra_search_paths=[str(tmp_path)]).load_data("endpoints")


def _dicts(value: object) -> list[dict[Any, Any]]:
    if isinstance(value, dict):
        return [value, *(d for item in dict.values(value) for d in _dicts(item))]
    if isinstance(value, list):
        return [d for item in value for d in _dicts(item)]
    return []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


def _lazy(plain: dict[str, Any]) -> LazyDict:
    return LazyDict({key: msgspec.Raw(json.dumps(value).encode()) for key, value in plain.items()})


@given(st.dictionaries(st.text(max_size=4), JSON, max_size=5), st.text(max_size=4))
def test_a_lazy_dict_reads_as_the_dict_it_stands_for(plain: dict[str, Any], key: str) -> None:
    assert _lazy(plain) == plain and plain == _lazy(plain) and (_lazy(plain) != plain) is False
    assert {"k": [_lazy(plain)]} == {"k": [plain]} and {"k": plain} == {"k": _lazy(plain)}
    assert [_lazy(plain).get(k) for k in plain] == list(plain.values()) and _lazy(plain).get(key, 7) == plain.get(
        key, 7
    )
    assert list(_lazy(plain).values()) == list(plain.values()) and list(_lazy(plain).items()) == list(plain.items())
    assert (
        list(_lazy(plain)) == list(plain)
        and len(_lazy(plain)) == len(plain)
        and (key in _lazy(plain)) == (key in plain)
    )
    for copied in (dict(_lazy(plain)), {**_lazy(plain)}, _lazy(plain).copy(), copy.deepcopy(_lazy(plain))):
        assert json.dumps(copied) == json.dumps(plain) and not _raw_inside(copied)
    assert pickle.loads(pickle.dumps(_lazy(plain))) == plain
    updated: dict[str, Any] = {"other": 1}
    updated.update(_lazy(plain))
    assert updated == {"other": 1, **plain} and not _raw_inside(updated)
    assert json.dumps(_lazy(plain) | {"z": 1}) == json.dumps(plain | {"z": 1})
    assert json.dumps({"z": 1} | _lazy(plain)) == json.dumps({"z": 1} | plain) and repr(_lazy(plain)) == repr(plain)
    lazy, same = _lazy(plain), dict(plain)
    assert lazy.setdefault(key, 5) == same.setdefault(key, 5) and lazy.pop(key) == same.pop(key)
    assert lazy.pop(key, "gone") == same.pop(key, "gone") == "gone"
    while same:
        assert lazy.popitem() == same.popitem()
    with pytest.raises(KeyError):
        lazy.popitem()
    with pytest.raises(KeyError):
        lazy.pop(key)


def _raw_inside(value: object) -> bool:
    return any(type(v) is msgspec.Raw for d in _dicts(value) for v in dict.values(d))


def test_a_service_of_a_custom_data_path_is_found(tmp_path: Path) -> None:
    model = Loader().load_service_model("sqs", "service-2")
    paths = _data_path(tmp_path, {"mine/2024-01-01/service-2.json": json.dumps(model)})
    assert FastLoader(extra_search_paths=paths).load_service_model("mine", "service-2") == model
    with pytest.raises(UnknownServiceError):
        Loader().load_service_model("mine", "service-2")


def test_the_session_loader_keeps_aws_data_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    theirs = botocore.session.get_session().get_component("data_loader")
    session = botocore.session.get_session()
    botocore_data.install(session)
    ours = session.get_component("data_loader")
    assert type(ours) is FastLoader and type(theirs) is Loader
    assert ours.search_paths == theirs.search_paths and ours.extras_types == theirs.extras_types
    assert str(tmp_path / "a") == ours.search_paths[0]


class _OwnLoader(Loader):
    pass


class _OwnFileLoader(JSONFileLoader):
    pass


@pytest.mark.parametrize("custom", [_OwnLoader, lambda: Loader(file_loader=_OwnFileLoader())])
def test_a_callers_own_loader_is_kept(custom: Any) -> None:
    session = botocore.session.get_session()
    loader = custom()
    session.register_component("data_loader", loader)
    botocore_data.install(session)
    assert session.get_component("data_loader") is loader


@pytest.mark.parametrize(("cls", "name"), botocore_data._HOOKS)
def test_a_botocore_without_a_method_used_keeps_its_loader(
    cls: type, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(cls, name)
    session = botocore.session.get_session()
    botocore_data.install(session)
    assert type(session.get_component("data_loader")) is Loader


def test_a_loader_with_other_search_paths_keeps_them(tmp_path: Path) -> None:
    session = botocore.session.get_session()
    session.register_component("data_loader", Loader(extra_search_paths=[str(tmp_path)]))
    botocore_data.install(session)
    assert type(session.get_component("data_loader")) is FastLoader
    assert session.get_component("data_loader").search_paths == Loader(extra_search_paths=[str(tmp_path)]).search_paths


@pytest.mark.parametrize("service", SERVICES)
def test_the_functions_clients_are_botocores(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DATA_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    aws.reset_clients()
    try:
        ours = aws.client(service)
        theirs = botocore.session.get_session().create_client(service)
        assert type(aws._session().get_component("data_loader")) is FastLoader
        assert ours.meta.service_model.operation_names == theirs.meta.service_model.operation_names
        assert ours.meta.endpoint_url == theirs.meta.endpoint_url
        assert ours.meta.partition == theirs.meta.partition
        mine, botocores = ours.meta.service_model, theirs.meta.service_model
        for operation in mine.operation_names:
            a, b = mine.operation_model(operation), botocores.operation_model(operation)
            assert a.http == b.http and a.metadata == b.metadata
    finally:
        aws.reset_clients()


# ---- event names ------------------------------------------------------------------------------------

EVENTS = (
    "before-call",
    "after-call",
    "needs-retry",
    "choose-signer",
    "before-parameter-build",
    "creating-client-class",
)
PARTS = sorted({p for old in EVENT_ALIASES for p in old.split(".")} | {"s3", "GetObject", "api", "data", "x"})


def _botocores(name: str) -> str:
    return EventAliaser(HierarchicalEmitter())._alias_event_name(name)


def _names() -> list[str]:
    """Each alias where botocore looks for it: a whole part, a dotted run, and near misses."""
    names = []
    for old in EVENT_ALIASES:
        for event in EVENTS:
            names += [f"{event}.{old}", f"{event}.{old}.GetObject", f"{event}.{old}x", f"{event}.x{old}.Op"]
        names += [old, f"{old}.{old}", old.replace(".", "")]
    return names


def test_each_alias_is_found_as_botocore_finds_it() -> None:
    ours = FastAliaser(HierarchicalEmitter())
    changed = 0
    for name in _names():
        assert ours._alias_event_name(name) == _botocores(name), name
        changed += ours._alias_event_name(name) != name
    assert changed > len(EVENT_ALIASES)  # the names do reach the aliases


@given(st.lists(st.sampled_from(PARTS), min_size=1, max_size=6))
def test_any_name_is_aliased_as_botocore_does(parts: list[str]) -> None:
    name = ".".join(parts)
    assert FastAliaser(HierarchicalEmitter())._alias_event_name(name) == _botocores(name)


def test_the_functions_clients_share_one_alias_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    aws.reset_clients()
    try:
        s3, events = aws.client("s3"), aws.client("events")
        assert type(aws._session().get_component("event_emitter")) is FastAliaser
        assert type(s3.meta.events) is FastAliaser and s3.meta.events is not events.meta.events
        assert s3.meta.events._alias_name_cache is events.meta.events._alias_name_cache
        # A handler registered under the old name runs for the new one, as in botocore.
        seen: list[str] = []
        events.meta.events.register("probe.events.ListRules", lambda event_name, **_: seen.append(event_name))
        events.meta.events.emit("probe.eventbridge.ListRules")
        assert seen == ["probe.eventbridge.ListRules"]
    finally:
        aws.reset_clients()


def _handlers(session: botocore.session.Session, name: str) -> list[str]:
    """The handlers an event reaches on a client of `session`, by name, in botocore's order."""
    emitter = session.create_client("s3", region_name="eu-west-1").meta.events
    found = emitter._emitter._handlers.prefix_search(emitter._alias_event_name(name))
    return [getattr(h, "__qualname__", type(h).__qualname__) for h in found]


def test_a_fast_session_registers_botocores_handlers_through_the_fast_aliaser() -> None:
    ours, theirs = botocore_data.FastSession(), botocore.session.get_session()
    assert type(ours._events) is FastAliaser and ours.get_component("event_emitter") is ours._events
    assert ours._events._alias_name_cache  # the built-in handlers' names went through it
    for event in (*EVENTS, "before-send", "after-call-error", "before-endpoint-resolution", "choose-service-name"):
        for name in (event, f"{event}.s3", f"{event}.s3.GetObject"):
            assert _handlers(ours, name) == _handlers(theirs, name), name
    assert _handlers(ours, "before-parameter-build.s3.GetObject")  # the comparison saw handlers


def test_a_botocore_aliasing_otherwise_keeps_its_own_aliaser(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runtime's botocore may not be this one: one sample answered otherwise, and its aliaser stays.
    botocores = EventAliaser._alias_event_name
    monkeypatch.setattr(EventAliaser, "_alias_event_name", lambda self, name: botocores(self, name).upper())
    session = botocore_data.FastSession()
    assert type(session._events) is EventAliaser and session.get_component("event_emitter") is session._events
    assert _handlers(session, "before-parameter-build.s3.GetObject")  # botocore's handlers, under its names


def test_a_renamed_event_is_logged_as_botocore_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG", logger="botocore.hooks"):
        FastAliaser(HierarchicalEmitter())._alias_event_name("before-call.events.PutEvents")
    assert "Changing event name from before-call.events.PutEvents to before-call.eventbridge.PutEvents" in caplog.text
