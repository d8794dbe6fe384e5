"""The functions' settings: the names, environment variables and defaults the stack relies on, and
one-line errors for an environment they cannot run with."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from gtproc.settings import Settings, SettingsError, default, env_name, field_names, get_settings, required_names

REQUIRED = {"GTPROC_EVENT_BUS_NAME": "bus", "GTPROC_TABLE_NAME": "table", "GTPROC_LABELS_BUCKET": "labels"}
# The contract with infra/ and the local replay: field, its variable, its default (None: required).
FIELDS = {
    "event_bus_name": ("GTPROC_EVENT_BUS_NAME", None),
    "event_source": ("GTPROC_EVENT_SOURCE", "gtproc"),
    "table_name": ("GTPROC_TABLE_NAME", None),
    "labels_bucket": ("GTPROC_LABELS_BUCKET", None),
    "labels_prefix": ("GTPROC_LABELS_PREFIX", "labels"),
    "key_prefix": ("GTPROC_KEY_PREFIX", ""),
    "lease_seconds": ("GTPROC_LEASE_SECONDS", 900),
    "max_file_bytes": ("GTPROC_MAX_FILE_BYTES", 16 * 1024 * 1024),
    "max_mask_pixels": ("GTPROC_MAX_MASK_PIXELS", 4 * 1024 * 1024),
    "max_shapes_per_answer": ("GTPROC_MAX_SHAPES_PER_ANSWER", 500),
    "max_shapes_per_object": ("GTPROC_MAX_SHAPES_PER_OBJECT", 1500),
    "max_classes": ("GTPROC_MAX_CLASSES", 1000),
    "describe_jobs": ("GTPROC_DESCRIBE_JOBS", True),
    "streaming_jobs": ("GTPROC_STREAMING_JOBS", {}),
    "streaming_queues": ("GTPROC_STREAMING_QUEUES", {}),
}


def settings(**variables: str) -> Settings:
    return Settings.from_environ({**REQUIRED, **variables})


def test_field_names_variables_and_defaults_are_kept():
    assert field_names() == tuple(FIELDS)
    assert {name: env_name(name) for name in field_names()} == {name: var for name, (var, _) in FIELDS.items()}
    assert required_names() == {name for name, (_, value) in FIELDS.items() if value is None}
    for name, (_, value) in FIELDS.items():
        if value is not None:
            assert default(name) == value, name
    read = dataclasses.asdict(Settings.from_environ(REQUIRED))
    assert read == {
        **{name: value for name, (_, value) in FIELDS.items() if value is not None},
        "event_bus_name": "bus",
        "table_name": "table",
        "labels_bucket": "labels",
    }


def test_required_field_has_no_default():
    with pytest.raises(KeyError):
        default("table_name")


def test_every_field_read_from_its_variable():
    read = settings(
        GTPROC_EVENT_SOURCE="custom.source",
        GTPROC_LABELS_PREFIX="so-far",
        GTPROC_KEY_PREFIX="jobs",
        GTPROC_LEASE_SECONDS="60",
        GTPROC_MAX_FILE_BYTES="1024",
        GTPROC_MAX_MASK_PIXELS="2048",
        GTPROC_MAX_SHAPES_PER_ANSWER="5",
        GTPROC_MAX_SHAPES_PER_OBJECT="15",
        GTPROC_MAX_CLASSES="10",
        GTPROC_DESCRIBE_JOBS="false",
        GTPROC_STREAMING_JOBS='{"arn:aws:sns:us-east-1:1:out": "job-a"}',
        GTPROC_STREAMING_QUEUES='{"arn:aws:sqs:us-east-1:1:q": "arn:aws:sns:us-east-1:1:out"}',
        UNRELATED="ignored",
        GTPROC_NOT_A_FIELD="ignored too",
    )
    assert read == Settings(
        event_bus_name="bus",
        table_name="table",
        labels_bucket="labels",
        event_source="custom.source",
        labels_prefix="so-far",
        key_prefix="jobs",
        lease_seconds=60,
        max_file_bytes=1024,
        max_mask_pixels=2048,
        max_shapes_per_answer=5,
        max_shapes_per_object=15,
        max_classes=10,
        describe_jobs=False,
        streaming_jobs={"arn:aws:sns:us-east-1:1:out": "job-a"},
        streaming_queues={"arn:aws:sqs:us-east-1:1:q": "arn:aws:sns:us-east-1:1:out"},
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("true", True), ("YES", True), ("On", True), ("1", True), ("t", True)],
        *[("false", False), ("No", False), ("off", False), ("0", False), ("F", False)],
    ],
)
def test_booleans_as_pydantic_read_them(text, value):
    assert settings(GTPROC_DESCRIBE_JOBS=text).describe_jobs is value


@pytest.mark.parametrize(("text", "value"), [("60", 60), (" 60 ", 60), ("+7", 7), ("1_000", 1000), ("2.0", 2)])
def test_integers_as_pydantic_read_them(text, value):
    assert settings(GTPROC_LEASE_SECONDS=text).lease_seconds == value


def test_names_are_case_insensitive():
    assert settings(gtproc_key_prefix="jobs").key_prefix == "jobs"


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().table_name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"GTPROC_MAX_CLASSES": "0"}, "settings: GTPROC_MAX_CLASSES='0': must be greater than 0"),
        ({"GTPROC_MAX_FILE_BYTES": "-1"}, "settings: GTPROC_MAX_FILE_BYTES='-1': must be greater than 0"),
        ({"GTPROC_LEASE_SECONDS": "1.5"}, "settings: GTPROC_LEASE_SECONDS='1.5': must be an integer"),
        ({"GTPROC_MAX_CLASSES": ""}, "settings: GTPROC_MAX_CLASSES='': must be an integer"),
        ({"GTPROC_MAX_CLASSES": "1e3"}, "settings: GTPROC_MAX_CLASSES='1e3': must be an integer"),
        ({"GTPROC_DESCRIBE_JOBS": "maybe"}, "settings: GTPROC_DESCRIBE_JOBS='maybe': must be a boolean"),
        ({"GTPROC_DESCRIBE_JOBS": " true"}, "settings: GTPROC_DESCRIBE_JOBS=' true': must be a boolean"),
        ({"GTPROC_STREAMING_JOBS": "{not json"}, "settings: GTPROC_STREAMING_JOBS='{not json': must be a JSON object"),
        ({"GTPROC_STREAMING_JOBS": '["a"]'}, "settings: GTPROC_STREAMING_JOBS='[\"a\"]': must be a JSON object"),
        ({"GTPROC_STREAMING_QUEUES": '{"q": 1}'}, "settings: GTPROC_STREAMING_QUEUES='{\"q\": 1}': must map names"),
        ({"GTPROC_STREAMING_QUEUES": ""}, "settings: GTPROC_STREAMING_QUEUES='': must be a JSON object"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_the_rule(variables, message):
    with pytest.raises(SettingsError) as raised:
        settings(**variables)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_a_long_bad_value_is_shortened():
    with pytest.raises(SettingsError) as raised:
        settings(GTPROC_STREAMING_JOBS="[" + "1," * 500 + "1]")
    assert len(str(raised.value)) < 150


def test_missing_required_variables_are_named_together():
    with pytest.raises(SettingsError, match=r"^settings: GTPROC_EVENT_BUS_NAME, GTPROC_LABELS_BUCKET not set"):
        Settings.from_environ({"GTPROC_TABLE_NAME": "table"})


def test_get_settings_reads_the_process_environment_once(monkeypatch):
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GTPROC_KEY_PREFIX", "first")
    get_settings.cache_clear()
    try:
        assert get_settings().key_prefix == "first"
        monkeypatch.setenv("GTPROC_KEY_PREFIX", "second")
        assert get_settings() is get_settings()
        assert get_settings().key_prefix == "first"  # cached for the container's life
    finally:
        get_settings.cache_clear()


def test_reading_settings_loads_no_pydantic():
    code = "import sys, gtproc.settings; print('pydantic' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"
