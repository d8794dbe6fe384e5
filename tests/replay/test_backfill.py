"""`gtproc backfill` on a moto server: a versioned bucket holding a bundled job's whole history (each plan
write put in turn, a second apart, so the rewritten intermediate manifests have several versions)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import boto3
import pytest
from gtproc.cli.main import main
from gtproc.local.backfill import StoredWrite, order, pipeline_of
from gtproc.local.replay import Published, facts

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[2] / "events" / "jobs"
PLAN = JOBS / "bbox-three-iterations.plan.jsonl"
BUCKET = "gt-output-bucket"  # the replay's default, so the events name the same bucket


def plan_writes(plan: Path) -> list[tuple[str, Path]]:
    steps = [json.loads(line) for line in plan.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(step["key"], plan.parent / step["file"]) for step in steps]


def put_history(server: Any, plan: Path = PLAN, bucket: str = BUCKET) -> list[tuple[str, Path]]:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    writes = plan_writes(plan)
    for key, file in writes:
        s3.put_object(Bucket=bucket, Key=key, Body=file.read_bytes())
        server.tick()
    return writes


def events_of(path: Path) -> list[Published]:
    lines = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]
    return [Published(line["source"], line["detail-type"], line["detail"]) for line in lines]


def counted(events: list[Published]) -> Counter[tuple[Any, ...]]:
    """Each fact with how many times it was published (the replay's facts() is a set)."""
    found: Counter[tuple[Any, ...]] = Counter()
    for event in events:
        objects = event.detail.get("objects")
        if isinstance(objects, list):
            for obj in objects:
                found[(event.detail_type, event.detail["jobName"], obj["datasetObjectId"])] += 1
        else:
            found.update(facts([event]))
    return found


def backfill(tmp: Path, *args: str) -> tuple[int, list[Published]]:
    out = tmp / f"events-{len(list(tmp.glob('events-*')))}.jsonl"
    code = main(["backfill", *args, "--events-out", str(out), "--quiet"])
    return code, events_of(out) if out.exists() else []


def test_local_history_gives_the_facts_of_replaying_the_writes_live(moto_server, replayed, tmp_path, capsys) -> None:
    live = replayed(PLAN)  # first: the embedded AWS shares moto's backends and clears them when it ends
    assert live.exit_code == 0
    put_history(moto_server)
    code, events = backfill(tmp_path, f"s3://{BUCKET}/", "--local", "--versions")
    assert code == 0, capsys.readouterr().err
    assert facts(events) == facts(live.events)
    assert set(counted(events).values()) == {1}  # nothing published twice
    assert any(e.detail_type == "Labeling Job Completed" for e in events)
    summary = capsys.readouterr().out
    assert "in-memory pipelines" in summary and "dead-letter queues: 0 messages" in summary


def test_local_embedded_and_replay_give_the_same_facts(moto_server, replayed, tmp_path) -> None:
    live = replayed(PLAN)
    put_history(moto_server)
    code_memory, memory = backfill(tmp_path, f"s3://{BUCKET}/cars-bbox/", "--local", "--versions")
    # Last: the embedded AWS reads the bucket first, then clears moto's backends when it ends.
    code_embedded, embedded = backfill(tmp_path, f"s3://{BUCKET}/cars-bbox/", "--embedded", "--versions")
    assert (code_memory, code_embedded) == (0, 0)
    assert counted(memory) == counted(embedded)
    assert facts(memory) == facts(live.events)


def account_lines(out: str) -> list[str]:
    """The account of a replay or a local backfill: its output without the header lines, the groups of files no
    pipeline reads (replay tells them, backfill leaves them out and counts them) and the delivery counts."""
    lines, skip = [], False
    for line in out.splitlines():
        if line.startswith(("gtproc replay:", "gtproc backfill:")) or " delivered in " in line:
            continue
        if line[:1].isdigit() and (" consolidation request of " in line or " consolidation requests of " in line):
            skip = True
            continue
        if skip and line.startswith("  not routed:"):
            continue
        skip = False
        lines.append(line.split(";")[0] if line[:1].isdigit() and " writes: " in line else line)
    return lines


def test_local_prints_the_account_of_the_replay(moto_server, capsys) -> None:
    assert main(["replay", str(PLAN)]) == 0
    replay_out = capsys.readouterr().out
    put_history(moto_server)
    assert main(["backfill", f"s3://{BUCKET}/", "--local", "--versions"]) == 0
    out = capsys.readouterr().out
    assert "write cars-bbox/manifests/intermediate/2/output.manifest (rewrite)" in out
    expected = [line.replace("43 writes: 39", "39 writes: 39") for line in account_lines(replay_out)]
    assert account_lines(out) == expected


def test_dry_run_lists_the_history_in_the_order_it_was_written(moto_server, capsys) -> None:
    writes = put_history(moto_server)
    assert main(["backfill", f"s3://{BUCKET}", "--local", "--versions", "--dry-run"]) == 0
    listed = [line.split()[2] for line in capsys.readouterr().out.splitlines() if line.startswith("would send")]
    routed = [key for key, _ in writes if "consolidation-request" not in key]
    assert listed == routed
    rewrites = Counter(listed)["cars-bbox/manifests/intermediate/2/output.manifest"]
    assert rewrites == Counter(routed)["cars-bbox/manifests/intermediate/2/output.manifest"] > 1


def test_without_versions_only_the_latest_of_each_key_is_listed(moto_server, capsys) -> None:
    writes = put_history(moto_server)
    assert main(["backfill", f"s3://{BUCKET}", "--local", "--dry-run"]) == 0
    listed = [line.split()[2] for line in capsys.readouterr().out.splitlines() if line.startswith("would send")]
    assert sorted(listed) == sorted({key for key, _ in writes if "consolidation-request" not in key})


def test_writes_of_one_second_follow_the_layout_order() -> None:
    second = datetime(2024, 3, 12, 9, 0, 0, tzinfo=UTC)
    keys = [
        "job/manifests/output/output.manifest",
        "job/manifests/intermediate/2/output.manifest",
        "job/annotations/consolidated-annotation/consolidation-response/iteration-1/t.json",
        "job/manifests/intermediate/1/output.manifest",
        "job/annotations/worker-response/iteration-1/3/t.json",
    ]
    earlier = StoredWrite("job/manifests/output/output.manifest", second.replace(second=0, minute=0, hour=8), 1, "e")
    ordered = order([StoredWrite(key, second, 1, "e") for key in keys] + [earlier])
    assert [w.key for w in ordered] == [
        "job/manifests/output/output.manifest",  # written an hour before: time comes first
        "job/annotations/worker-response/iteration-1/3/t.json",
        "job/annotations/consolidated-annotation/consolidation-response/iteration-1/t.json",
        "job/manifests/intermediate/1/output.manifest",
        "job/manifests/intermediate/2/output.manifest",
        "job/manifests/output/output.manifest",
    ]


class PagedListing:
    """list_objects_v2 / list_object_versions paginators that return fixed pages, as S3 splits a long listing."""

    def __init__(self, pages: dict[str, list[dict[str, Any]]]) -> None:
        self.pages, self.asked = pages, []

    def get_paginator(self, operation: str) -> Any:
        listing = self

        class Paginator:
            def paginate(self, **params: Any) -> list[dict[str, Any]]:
                listing.asked.append((operation, params))
                return listing.pages[operation]

        return Paginator()


def test_every_page_of_the_listing_is_read_and_a_keys_versions_stay_in_time_order() -> None:
    from gtproc.local.backfill import list_writes

    at = [datetime(2024, 3, 12, 9, 0, second, tzinfo=UTC) for second in range(6)]
    manifest = "job/manifests/intermediate/1/output.manifest"
    response = "job/annotations/worker-response/iteration-1/0/t.json"

    def version(key: str, when: datetime, vid: str) -> dict[str, Any]:
        return {"Key": key, "LastModified": when, "Size": 1, "ETag": f'"{vid}"', "VersionId": vid}

    # S3 lists each key's versions newest first; a long history runs over a page boundary.
    versions = PagedListing(
        {
            "list_object_versions": [
                {"Versions": [version(response, at[0], "r1"), version(manifest, at[5], "m3")]},
                {"Versions": [version(manifest, at[3], "m2")], "DeleteMarkers": [{"Key": manifest}]},
                {"Versions": [version(manifest, at[1], "m1")]},
            ]
        }
    )
    listed = list_writes(versions, "b", "job/", versions=True)
    assert [(w.key, w.version_id) for w in listed] == [
        (response, "r1"),
        (manifest, "m1"),
        (manifest, "m2"),
        (manifest, "m3"),
    ]
    assert versions.asked == [("list_object_versions", {"Bucket": "b", "Prefix": "job/"})]
    latest = PagedListing(
        {
            "list_objects_v2": [
                {"Contents": [{"Key": manifest, "LastModified": at[5], "Size": 1, "ETag": '"m3"'}]},
                {},  # an empty page (S3 may end on one)
                {"Contents": [{"Key": response, "LastModified": at[0], "Size": 1, "ETag": '"r1"'}]},
            ]
        }
    )
    assert [(w.key, w.etag) for w in list_writes(latest, "b", "job/")] == [(response, "r1"), (manifest, "m3")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backfill", "gs://bucket/x", "--local"], "expected s3://BUCKET/[PREFIX]"),
        (["backfill", "s3://Not_A_Bucket/x", "--local"], "is not an S3 bucket name"),
        (["backfill", "s3://no-such-bucket/x", "--local"], "NoSuchBucket"),
        (["backfill", f"s3://{BUCKET}/", "--stack", "NoSuchStack"], "stack NoSuchStack"),
        (["backfill", f"s3://{BUCKET}/", "--local", "--rate", "0"], "--rate must be a positive number"),
    ],
)
def test_bad_usage_exits_2_with_one_line(moto_server, capsys, args: list[str], message: str) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


class SlowObjects:
    """get_object with uneven latencies (later keys often answer first), a 403 on some keys; counts calls."""

    def __init__(self, forbidden: set[str]) -> None:
        import threading

        self.forbidden, self.started, self.lock = forbidden, 0, threading.Lock()

    def get_object(self, Bucket: str, Key: str, **extra: Any) -> dict[str, Any]:
        import io
        import time

        from botocore.exceptions import ClientError

        with self.lock:
            self.started += 1
        time.sleep(0.004 * (hash(Key) % 3))
        if Key in self.forbidden:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

        class Body(io.BytesIO):
            pass

        return {"Body": Body(f"{Key}@{extra.get('VersionId')}".encode())}


def test_objects_are_read_ahead_in_parallel_and_taken_in_order() -> None:
    from gtproc.local.backfill import read_in_order

    writes = worker_responses(500)
    writes.append(StoredWrite("out/job/manifests/output/output.manifest", writes[0].last_modified, 9, "e", "v2"))
    objects = SlowObjects({writes[7].key, writes[300].key})
    taken = []
    for position, (write, data, why) in enumerate(read_in_order(objects, "b", writes, workers=8, ahead=20)):
        assert objects.started <= position + 1 + 20  # never more than `ahead` beyond what was taken
        taken.append((write, data, why))
    assert [w for w, _, _ in taken] == writes  # every write, in order, none skipped
    assert [w.key for w, data, _ in taken if data is None] == [writes[7].key, writes[300].key]
    assert {why for _, data, why in taken if data is None} == {"AccessDenied: Access Denied"}
    assert taken[-1][1] == b"out/job/manifests/output/output.manifest@v2"  # that version, not the latest
    assert all(data == f"{w.key}@None".encode() for w, data, _ in taken[:-1] if data is not None)


def test_read_ahead_holds_at_most_its_byte_budget_and_a_larger_object_alone() -> None:
    """Sizes from the listing: 100-byte objects under a 350-byte budget, one 1,000-byte object in the middle."""
    import dataclasses

    from gtproc.local.backfill import read_in_order

    writes = [dataclasses.replace(w, size=100) for w in worker_responses(40)]
    writes[20] = dataclasses.replace(writes[20], size=1000)
    objects = SlowObjects(set())
    taken = []
    for position, (write, data, _) in enumerate(
        read_in_order(objects, "b", writes, workers=8, ahead=20, ahead_bytes=350)
    ):
        held = writes[position + 1 : objects.started]  # started, not yet taken
        assert sum(w.size for w in held) <= 350 or len(held) == 1, (position, objects.started)
        taken.append((write, data))
    assert [w for w, _ in taken] == writes and all(data is not None for _, data in taken)


def test_reading_stops_when_the_pipelines_stop() -> None:
    import threading

    from gtproc.local.backfill import read_in_order

    writes = worker_responses(200)
    objects = SlowObjects(set())
    reads = read_in_order(objects, "b", writes, workers=4, ahead=10)
    for _ in range(5):
        next(reads)
    reads.close()
    assert objects.started <= 5 + 10
    assert not [t for t in threading.enumerate() if t.name.startswith("backfill-read")]


def test_the_cheap_read_gives_get_objects_bytes_and_falls_back_to_it(moto_server, monkeypatch) -> None:
    """Every version of the history, read by a SigV4-presigned GET on the client's HTTP session, is the
    bytes get_object gives. A missing object is get_object's error; a size other than the listing's (a
    rewrite since) is read by get_object, and the next read is cheap again."""
    import dataclasses

    from botocore.exceptions import ClientError
    from gtproc.local.backfill import ObjectGetter, backfill_client, list_writes

    put_history(moto_server)
    s3 = backfill_client(boto3.client("s3", region_name="us-east-1"))
    writes = list_writes(s3, BUCKET, "", versions=True)
    assert len({w.key for w in writes}) < len(writes)  # rewritten keys: versions are read, not the latest
    reference = boto3.client("s3", region_name="us-east-1")  # its own HTTP session: the counts are the getter's

    def expected(write: StoredWrite) -> bytes:
        return bytes(reference.get_object(Bucket=BUCKET, Key=write.key, VersionId=write.version_id)["Body"].read())

    get = ObjectGetter(s3, BUCKET)
    cheap, sent, calls = [], [], []
    cheap_get, send, get_object = get._get, get.session.send, s3.get_object
    monkeypatch.setattr(get, "_get", lambda url: cheap.append(url) or cheap_get(url))
    monkeypatch.setattr(get.session, "send", lambda request: sent.append(request.url) or send(request))
    monkeypatch.setattr(s3, "get_object", lambda **params: calls.append(params) or get_object(**params))
    for write in writes:
        assert write.version_id and get(write) == expected(write)
    assert len(cheap) == len(writes) and calls == [] and sent == []  # all on the cheap path
    assert all("X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "versionId=" in url for url in cheap)
    assert len(get._pools) == 1  # one pool for the host, taken once

    gone = StoredWrite("cars-bbox/annotations/worker-response/iteration-1/9/gone.json", writes[0].last_modified, 9, "e")
    with pytest.raises(ClientError, match="NoSuchKey"):
        get(gone)
    assert get.session is not None  # an error is the object's, not the cheap way's
    resized = dataclasses.replace(writes[0], size=writes[0].size + 1)  # rewritten since the listing
    assert get(resized) == expected(resized)
    assert [call["Key"] for call in calls] == [gone.key, resized.key] and get.session is not None
    cheap.clear()
    assert get(writes[1]) == expected(writes[1]) and len(calls) == 2 and len(cheap) == 1  # cheap again


@pytest.mark.parametrize(
    ("answer", "stops"),
    [
        ("dropped", False),  # a keep-alive connection the store closed
        ("timeout", False),
        (503, False),  # SlowDown
        (500, False),
        (429, False),
        (403, True),  # a store that refuses presigned URLs
        (301, True),  # another region's endpoint
        ("broken", True),  # the cheap way's own steps fail (botocore's internals changed)
    ],
)
def test_only_a_refusal_stops_the_cheap_read(moto_server, monkeypatch, answer, stops) -> None:
    """One bad cheap read is read again by get_object (the same bytes). The cheap way goes on after a
    transport error, a 5xx or throttling, and stops for the run after a refusal get_object then reads."""
    from gtproc.local.backfill import ObjectGetter, backfill_client, list_writes
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    put_history(moto_server)
    s3 = backfill_client(boto3.client("s3", region_name="us-east-1"))
    writes = list_writes(s3, BUCKET, "", versions=True)[:3]
    get = ObjectGetter(s3, BUCKET)
    real_get, get_object, calls, cheap = get._get, s3.get_object, [], []
    failures = [answer]

    def flaky(url: str) -> tuple[int, bytes]:
        cheap.append(url)
        if not failures:
            return real_get(url)
        failure = failures.pop()
        if failure == "dropped":
            raise ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
        if failure == "timeout":
            raise ReadTimeoutError(None, url, "Read timed out.")
        if failure == "broken":
            raise AttributeError("'URLLib3Session' object has no attribute '_get_connection_manager'")
        return failure, b"<Error/>"

    monkeypatch.setattr(get, "_get", flaky)
    monkeypatch.setattr(s3, "get_object", lambda **params: calls.append(params) or get_object(**params))
    reference = boto3.client("s3", region_name="us-east-1")
    contents = [get(write) for write in writes]
    assert contents == [
        reference.get_object(Bucket=BUCKET, Key=w.key, VersionId=w.version_id)["Body"].read() for w in writes
    ]
    assert len(calls) == (3 if stops else 1)  # the failed read, then every read or none
    assert len(cheap) == (1 if stops else 3)
    assert (get.session is None) is stops


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-12T09:00:00.000Z",
        "2024-03-12T09:00:00Z",
        "2024-03-12T09:00:00.123456+02:00",
        "Tue, 12 Mar 2024 09:00:00 GMT",
    ],
)
def test_the_listings_times_are_the_times_botocore_parses(text: str) -> None:
    from botocore.utils import parse_timestamp
    from gtproc.local.backfill import _timestamp

    ours, theirs = _timestamp(text), parse_timestamp(text)
    assert ours == theirs and ours.utcoffset() == theirs.utcoffset() and ours.isoformat() == theirs.isoformat()


def test_freezing_what_the_run_keeps_changes_no_fact_and_ends_with_the_run() -> None:
    import gc

    from gtproc.handlers import annotations, manifests
    from gtproc.local.backfill import memory_engine
    from gtproc.local.replay import load_writes

    writes = load_writes(PLAN)
    runs = []
    for every in (None, 3):
        events: list[Published] = []
        frozen: list[int] = []
        handlers = {"manifests": manifests.handler, "annotations": annotations.handler}
        with memory_engine(BUCKET, "", handlers, events.append) as engine:
            engine.freeze_every = every
            engine.on_write = lambda _write, seen=frozen: seen.append(gc.get_freeze_count())
            engine.run(writes)
            engine.collect_events()
        assert gc.get_freeze_count() == 0  # all back in the collector's care
        runs.append((counted(events), frozen))
    (plain, frozen_plain), (tenured, frozen_tenured) = runs
    assert plain == tenured and plain
    assert frozen_plain[-1] <= frozen_plain[0]  # frozen once, before the run (some freed since)
    assert frozen_tenured[-1] > frozen_tenured[0]  # and again every 3 writes


def test_nothing_to_backfill_is_a_note_and_exit_0(moto_server, capsys) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="cars-bbox/images/0.jpg", Body=b"jpeg")
    assert main(["backfill", f"s3://{BUCKET}/", "--local"]) == 0
    captured = capsys.readouterr()
    assert "1 object under" in captured.out and "0 routed" in captured.out and "(1 other files" in captured.out
    assert "nothing to backfill" in captured.err and len(captured.err.strip().splitlines()) == 1


def test_events_out_needs_local(moto_server, capsys, tmp_path) -> None:
    assert main(["backfill", f"s3://{BUCKET}/", "--events-out", str(tmp_path / "e.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "--events-out needs --local" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e.jsonl").exists()


def test_a_stack_without_the_queue_outputs_exits_2(moto_server, capsys) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="Gtproc", TemplateBody=json.dumps(template)
    )
    assert main(["backfill", f"s3://{BUCKET}/"]) == 2
    err = capsys.readouterr().err
    assert "stack Gtproc: no output ManifestsQueueUrl, AnnotationsQueueUrl" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_local_an_object_that_cannot_be_read_is_named_and_exits_1(
    moto_server, replayed, monkeypatch, tmp_path, capsys
) -> None:
    """Listed, then gone before it is read (deleted, or not readable): named on stderr, exit 1; everything
    else is processed as usual, and the account does not count it as a write no rule routed."""
    import gtproc.local.backfill as backfill_module

    live = replayed(PLAN)
    put_history(moto_server)
    listed = backfill_module.list_writes
    gone = "cars-bbox/annotations/worker-response/iteration-1/9/2024-03-12_09:00:00.json"

    def with_a_missing_object(*args: Any, **kwargs: Any) -> list[StoredWrite]:
        writes = listed(*args, **kwargs)
        return [*writes[:3], StoredWrite(gone, writes[3].last_modified, 10, "e"), *writes[3:]]

    monkeypatch.setattr(backfill_module, "list_writes", with_a_missing_object)
    capsys.readouterr()
    code, events = backfill(tmp_path, f"s3://{BUCKET}/", "--local", "--versions")
    captured = capsys.readouterr()
    assert code == 1
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"gtproc backfill: s3://{BUCKET}/{gone}: cannot read: NoSuchKey")
    assert f"gtproc backfill: 40 writes to s3://{BUCKET}" in captured.out
    assert "\n39 writes: 39 routed by the rules to the pipelines\n" in captured.out
    assert "dead-letter queues: 0 messages" in captured.out
    assert facts(events) == facts(live.events)


def test_local_a_listing_without_etags_is_processed_as_usual(
    moto_server, replayed, monkeypatch, tmp_path, capsys
) -> None:
    """Some S3-compatible stores list objects without an ETag: the account then matches writes by key."""
    import dataclasses

    import gtproc.local.backfill as backfill_module

    live = replayed(PLAN)
    put_history(moto_server)
    listed = backfill_module.list_writes

    def without_etags(*args: Any, **kwargs: Any) -> list[StoredWrite]:
        return [dataclasses.replace(write, etag="") for write in listed(*args, **kwargs)]

    monkeypatch.setattr(backfill_module, "list_writes", without_etags)
    code, events = backfill(tmp_path, f"s3://{BUCKET}/", "--local", "--versions")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert facts(events) == facts(live.events)
    assert set(counted(events).values()) == {1}


def test_local_a_write_that_ends_in_a_dead_letter_queue_exits_1(moto_server, monkeypatch, capsys) -> None:
    from gtproc.handlers import manifests

    put_history(moto_server)
    real = manifests.handler

    def failing_final_manifest(event: dict[str, Any], context: Any) -> Any:
        if any("manifests/output/" in record["body"] for record in event["Records"]):
            raise RuntimeError("the function crashed")
        return real(event, context)

    monkeypatch.setattr(manifests, "handler", failing_final_manifest)
    assert main(["backfill", f"s3://{BUCKET}/", "--local"]) == 1
    out = capsys.readouterr().out
    assert "dead-letter queues: 1 message" in out
    assert "Labeling Job Completed" not in out


# ---- in-account: the stack's queues, found from its outputs ----------------------------------------------


def deploy_like_the_stack(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """On the moto server: a stack `Gtproc` whose outputs name the pipelines' queues (as infra/stack.py's),
    the state table, labels bucket and bus; the handlers' settings point at them. Returns the queue URLs."""
    from gtproc.handlers import wiring

    template = {
        "Resources": {
            f"{name}Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"gtproc-{name.lower()}"}}
            for name in ("Manifests", "Annotations")
        },
        "Outputs": {f"{name}QueueUrl": {"Value": {"Ref": f"{name}Queue"}} for name in ("Manifests", "Annotations")},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="Gtproc", TemplateBody=json.dumps(template)
    )
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="gtproc-labels")
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName="gtproc-state",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name="gtproc")
    observer = sqs.create_queue(QueueName="observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=observer, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="observer", EventBusName="gtproc", EventPattern=json.dumps({"source": ["gtproc"]}))
    events.put_targets(Rule="observer", EventBusName="gtproc", Targets=[{"Id": "observer", "Arn": arn}])
    for name, value in {
        "GTPROC_EVENT_BUS_NAME": "gtproc",
        "GTPROC_TABLE_NAME": "gtproc-state",
        "GTPROC_LABELS_BUCKET": "gtproc-labels",
        "GTPROC_DESCRIBE_JOBS": "false",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "gtproc",
    }.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    stack = boto3.client("cloudformation", region_name="us-east-1").describe_stacks(StackName="Gtproc")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
    queues = {"manifests": outputs["ManifestsQueueUrl"], "annotations": outputs["AnnotationsQueueUrl"]}
    return {**queues, "observer": observer}


def run_functions(queues: dict[str, str]) -> list[Published]:
    """The deployed functions, as Lambda runs them on the queues: the real handlers on batches of 10.
    Returns what they published on the bus."""
    from gtproc.handlers import annotations, manifests
    from gtproc.local.replay import _Context

    sqs = boto3.client("sqs", region_name="us-east-1")
    handlers = {"annotations": annotations.handler, "manifests": manifests.handler}
    for pipeline, handler in handlers.items():  # the annotations first: the pipelines do not wait for each other
        if pipeline not in queues:
            continue
        while messages := sqs.receive_message(
            QueueUrl=queues[pipeline], MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", []):
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:gtproc-{pipeline}",
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
            response = handler({"Records": records}, _Context(pipeline))
            assert response["batchItemFailures"] == []
            for m in messages:
                sqs.delete_message(QueueUrl=queues[pipeline], ReceiptHandle=m["ReceiptHandle"])
    published = []
    while messages := sqs.receive_message(QueueUrl=queues["observer"], MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            event = json.loads(m["Body"])
            published.append(Published(event["source"], event["detail-type"], event["detail"]))
            sqs.delete_message(QueueUrl=queues["observer"], ReceiptHandle=m["ReceiptHandle"])
    return published


def test_in_account_feeds_the_stack_and_a_second_backfill_publishes_nothing(
    moto_server, replayed, monkeypatch, capsys
) -> None:
    live = replayed(PLAN)
    keys = {key for key, _ in put_history(moto_server)}
    queues = deploy_like_the_stack(monkeypatch)
    capsys.readouterr()
    assert main(["backfill", f"s3://{BUCKET}/"]) == 0
    out = capsys.readouterr().out
    manifests = sum(pipeline_of(key) == "manifests" for key in keys)
    annotations = sum(pipeline_of(key) == "annotations" for key in keys)
    assert f"{manifests} writes to manifests" in out and f"{annotations} writes to annotations" in out
    first = run_functions(queues)
    assert facts(first) == facts(live.events)
    assert set(counted(first).values()) == {1}
    # The same backfill again (under --rate this time), then with every version: the functions' ledger and
    # claims know all of it, so the writes are processed and nothing is published.
    assert main(["backfill", f"s3://{BUCKET}/", "--rate", "500"]) == 0
    assert f"{manifests} writes to manifests" in capsys.readouterr().out
    assert run_functions(queues) == []
    assert main(["backfill", f"s3://{BUCKET}/", "--versions"]) == 0
    assert run_functions(queues) == []


def test_in_account_dry_run_names_the_queues_and_sends_nothing(moto_server, monkeypatch, capsys) -> None:
    put_history(moto_server)
    queues = deploy_like_the_stack(monkeypatch)
    assert main(["backfill", f"s3://{BUCKET}/cars-bbox/manifests/", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would send cars-bbox/manifests/output/output.manifest " in out and queues["manifests"] in out
    assert run_functions(queues) == []


def test_a_write_that_cannot_be_sent_exits_1(moto_server, monkeypatch, capsys) -> None:
    put_history(moto_server)
    queues = deploy_like_the_stack(monkeypatch)
    boto3.client("sqs", region_name="us-east-1").delete_queue(QueueUrl=queues["annotations"])
    assert main(["backfill", f"s3://{BUCKET}/"]) == 1
    err = capsys.readouterr().err
    assert "worker-response" in err and "not sent" in err and "Traceback" not in err
    del queues["annotations"]
    assert any(e.detail_type == "Labeling Job Completed" for e in run_functions(queues))  # the manifests went


# ---- --rate: a token bucket on a fake clock -----------------------------------------------------------------


class FakeClock:
    """A float clock, as time.monotonic is; a sleep must move it (one that cannot would wait forever)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0 and self.now + seconds > self.now, f"a sleep of {seconds!r} s at {self.now} s"
        self.now += seconds
        self.sleeps += 1


class RecordingQueues:
    """send_message_batch that notes when (on the fake clock) how many messages went, and their bodies."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.sends, self.bodies = clock, [], []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.sends.append((self.clock.now, len(Entries)))
        self.bodies.extend(json.loads(entry["MessageBody"]) for entry in Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}


def worker_responses(count: int) -> list[StoredWrite]:
    second = datetime(2024, 3, 12, 9, 0, 0, tzinfo=UTC)
    return [
        StoredWrite(
            f"out/job/annotations/worker-response/iteration-1/{i}/2024-03-12_09:00:{i % 60:02d}.json", second, 9, "e"
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("rate", [0.5, 5.0, 25.0])
def test_rate_bounds_the_writes_sent_per_second(rate: float) -> None:
    from gtproc.local.backfill import TokenBucket, send

    clock = FakeClock()
    queues = RecordingQueues(clock)
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)
    result = send(queues, {"annotations": "q"}, worker_responses(60), "b", "123456789012", "us-east-1", bucket)
    assert result.sent == {"annotations": 60} and not result.failed
    # By any time t, at most one burst (a second's worth, at most 10) plus rate * t were sent.
    burst = max(1.0, min(10.0, rate))
    total = 0
    for at, count in queues.sends:
        total += count
        assert total <= burst + rate * at + 1e-9
    assert queues.sends[-1][0] == pytest.approx((60 - burst) / rate)


@pytest.mark.parametrize("rate", [25.0, 7.0, 3.3, 0.3, 1000.0])
def test_each_batch_waits_at_most_once_on_the_schedule(rate: float) -> None:
    """Rates whose token sums are not exact in floats (25/s hung on its fifth batch): one sleep per batch,
    ending on the schedule's time, however long the run."""
    from gtproc.local.backfill import TokenBucket

    clock = FakeClock()
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)
    size = int(bucket.capacity)
    for sent in range(1, 2001):
        before = clock.sleeps
        bucket.take(size)
        assert clock.sleeps - before <= 1
        # The first batch at once; each later one when its tokens are in (a fractional burst lends a bit).
        due = 0.0 if sent == 1 else ((sent - 1) * size - (bucket.capacity - size)) / rate
        assert clock.now == pytest.approx(due)


def test_a_late_wake_up_does_not_raise_the_rate() -> None:
    """A sleep that overshoots (a loaded machine) is no credit: the next batch still waits its second."""
    from gtproc.local.backfill import TokenBucket

    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock, sleep=lambda seconds: clock.sleep(seconds + 5.0))
    sends = []
    for _ in range(6):
        bucket.take(10)
        sends.append(clock.now)
    assert all(later - earlier >= 1.0 for earlier, later in pairwise(sends))
    assert clock.sleeps == 5
    clock.now += 100.0  # idle for 100 s: the bucket refills to one burst, no more
    bucket.take(10)
    assert clock.sleeps == 5
    bucket.take(10)
    assert clock.sleeps == 6
    with pytest.raises(ValueError, match="capacity"):
        bucket.take(11)


def test_the_events_sent_are_the_ones_aws_sends() -> None:
    from gtproc.handlers.notifications import object_writes
    from gtproc.local.backfill import send

    queues = RecordingQueues(FakeClock())
    writes = worker_responses(3)
    send(queues, {"annotations": "q"}, writes, "gt-out", "123456789012", "eu-west-1")
    first = queues.bodies[0]
    assert first["source"] == "aws.s3" and first["detail-type"] == "Object Created" and first["region"] == "eu-west-1"
    assert first["detail"]["object"]["key"] == writes[0].key.replace(":", "%3A")  # URL-encoded, as AWS does
    assert len({body["id"] for body in queues.bodies}) == 3  # never one id for all, as moto's
    sequencers = [body["detail"]["object"]["sequencer"] for body in queues.bodies]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 3
    parsed = [object_writes(json.dumps(body))[0] for body in queues.bodies]
    assert [(w.bucket, w.key, w.size) for w in parsed] == [("gt-out", w.key, 9) for w in writes]


# ---- what the functions' role cannot read: reported once, never retried into a DLQ ------------------------


def test_s3_403_is_an_unreadable_object() -> None:
    from botocore.stub import Stubber
    from gtproc.adapters.s3 import S3Objects
    from gtproc.usecases.ports import ObjectUnreadable

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        stub.add_client_error("get_object", "InvalidObjectState", "archived", 403)
        for _ in range(2):
            with pytest.raises(ObjectUnreadable, match="cannot read"):
                S3Objects(client).read_chunks("b", "job/manifests/output/output.manifest")


def test_what_the_role_cannot_read_is_reported_not_retried(monkeypatch) -> None:
    """The real handlers on the in-memory ports, one worker response and one manifest forbidden (403)."""
    from gtproc.handlers import annotations, manifests
    from gtproc.local.backfill import _Objects, memory_engine
    from gtproc.local.replay import load_writes
    from gtproc.usecases.ports import ObjectUnreadable

    writes = load_writes(PLAN)
    forbidden = {writes[0].key, "cars-bbox/manifests/intermediate/1/output.manifest"}
    real_chunks, real_read = _Objects.read_chunks, _Objects.read

    def check(bucket: str, key: str) -> None:
        if key in forbidden:
            raise ObjectUnreadable(f"s3://{bucket}/{key}: the function's role cannot read it (AccessDenied)")

    def read_chunks(self: Any, bucket: str, key: str) -> Any:
        check(bucket, key)
        return real_chunks(self, bucket, key)

    def read(self: Any, bucket: str, key: str, max_bytes: int | None = None) -> Any:
        check(bucket, key)
        return real_read(self, bucket, key, max_bytes)

    monkeypatch.setattr(_Objects, "read_chunks", read_chunks)
    monkeypatch.setattr(_Objects, "read", read)
    events: list[Published] = []
    with memory_engine(
        BUCKET, "", {"manifests": manifests.handler, "annotations": annotations.handler}, events.append
    ) as engine:
        result = engine.run(writes)
        engine.collect_events()
    assert result.dead_letters == {"manifests": 0, "annotations": 0}
    routed = sum(1 for w in writes if "consolidation-request" not in w.key)
    assert result.deliveries == routed  # each delivered once: nothing was retried
    invalid = [(e.detail["code"], e.detail["fileUri"]) for e in events if e.detail_type == "Annotation File Invalid"]
    assert invalid == [("access-denied", f"s3://{BUCKET}/{writes[0].key}")]
    assert not [e for e in events if e.detail.get("manifestUri", "").endswith("intermediate/1/output.manifest")]
    assert any(e.detail_type == "Labeling Job Completed" for e in events)  # the rest went on
