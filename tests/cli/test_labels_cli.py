"""`gtproc labels`: the labels so far of a replayed job, exported from a moto server, validate and match
the job's own output.manifest; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

LABELS_BUCKET = "gtproc-labels"
JOBS = Path(__file__).resolve().parents[2] / "events" / "jobs"
MotoServer = Any  # tests/cli/conftest.py's moto_server fixture


def manifest_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_export(manifest: Path, attribute: str, status: str = "all") -> list[dict[str, Any]]:
    """What Ground Truth's final manifest holds for the job's attribute, in the export's shape: the source
    and the pair (failed lines keep their `failure-reason`)."""
    expected = []
    for line in manifest_lines(manifest):
        metadata = line.get(f"{attribute}-metadata")
        if metadata is None:
            continue  # unlabeled
        source = {k: line[k] for k in ("source-ref", "source") if k in line}
        if attribute in line and status in ("all", "labeled"):
            expected.append({**source, attribute: line[attribute], f"{attribute}-metadata": metadata})
        elif attribute not in line and status in ("all", "failed"):
            expected.append({**source, f"{attribute}-metadata": {"failure-reason": metadata["failure-reason"]}})
    return expected


def upload(server: MotoServer, objects: dict[str, bytes], bucket: str = LABELS_BUCKET) -> Any:
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return s3


def assert_one_line_error(result: Any, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    ("job", "attribute"),
    [("bbox-three-iterations", "cars-bbox"), ("classification-failed-auto", "flowers-classification")],
)
def test_labels_round_trip_validates_and_matches_the_final_manifest(
    replayed_labels: Any, moto_server: MotoServer, tmp_path: Path, job: str, attribute: str
) -> None:
    objects = replayed_labels(job)
    parts = [key for key in objects if key.startswith("labels/") and "/part-" in key]
    assert parts, objects.keys()
    upload(moto_server, objects)
    out = tmp_path / "labels.manifest"
    uri = f"s3://{LABELS_BUCKET}/labels/gt-output-bucket/{attribute}/"

    result = moto_server.gtproc("labels", uri, "-o", out)

    assert result.returncode == 0, result.stderr
    final = JOBS / job / attribute / "manifests" / "output" / "output.manifest"
    assert manifest_lines(out) == expected_export(final, attribute)
    checked = moto_server.gtproc("validate", "--json", out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["invalid"] == 0 and report["errors"] == []
    assert report["labeled"] + report["failed"] == len(manifest_lines(out))


def test_labels_status_filters_and_stdout(replayed_labels: Any, moto_server: MotoServer) -> None:
    upload(moto_server, replayed_labels("classification-failed-auto"))
    uri = f"s3://{LABELS_BUCKET}/labels/gt-output-bucket/flowers-classification"  # no trailing slash
    final = JOBS / "classification-failed-auto" / "flowers-classification" / "manifests" / "output" / "output.manifest"
    for status in ("labeled", "failed"):
        result = moto_server.gtproc("labels", uri, "--status", status)
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert lines == expected_export(final, "flowers-classification", status)
        assert lines, status


def test_labels_reads_only_the_parts_directly_under_the_uri(replayed_labels: Any, moto_server: MotoServer) -> None:
    objects = dict(replayed_labels("bbox-three-iterations"))
    base = "labels/gt-output-bucket/cars-bbox/"
    # A job nested in the job's folder (its output path is inside): its labels sit below, never mixed in.
    nested = {"datasetObjectId": "0", "sourceRef": "s3://elsewhere/x.jpg", "label": 1, "metadata": {}}
    nested |= {"labelAttributeName": "other", "status": "labeled", "iteration": 1, "manifestUri": "s3://x/y"}
    objects[base + "nested-job/part-00000001-aaaa-0000.jsonl"] = json.dumps(nested).encode() + b"\n"
    upload(moto_server, objects)

    result = moto_server.gtproc("labels", f"s3://{LABELS_BUCKET}/{base}")

    assert result.returncode == 0, result.stderr
    assert "elsewhere" not in result.stdout and '"other"' not in result.stdout
    assert len(result.stdout.splitlines()) == 30


def test_labels_merges_chained_attributes_on_one_line_and_a_later_part_wins(moto_server: MotoServer) -> None:
    def part_line(oid: str, attribute: str, status: str, **fields: Any) -> bytes:
        record = {"datasetObjectId": oid, "sourceRef": f"s3://in/{oid}.jpg", **fields}
        record |= {"labelAttributeName": attribute, "status": status, "iteration": 1, "manifestUri": "s3://o/m"}
        return json.dumps(record).encode() + b"\n"

    meta = {"class-name": "a", "type": "groundtruth/image-classification", "job-name": "labeling-job/j"}
    meta |= {"human-annotated": "yes", "creation-date": "2024-01-01T00:00:00.000000", "confidence": 0.9}
    base = "labels/out/jobs/j/"
    upload(
        moto_server,
        {
            base + "part-00000001-r1-0000.jsonl": part_line("10", "first", "labeled", label=0, metadata=meta)
            + part_line("2", "first", "failed", failureReason="expired")
            + b"{not json\n",
            base + "part-00000002-r2-0000.jsonl": part_line("10", "second", "labeled", label=1, metadata=meta)
            + part_line("2", "first", "labeled", label=0, metadata=meta),
        },
    )

    result = moto_server.gtproc("labels", f"s3://{LABELS_BUCKET}/{base}")

    assert result.returncode == 1  # one bad line, named; the others still written
    problems = [line for line in result.stderr.splitlines() if "part-00000001-r1-0000.jsonl:3:" in line]
    assert len(problems) == 1 and "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["source-ref"] for line in lines] == ["s3://in/2.jpg", "s3://in/10.jpg"]  # numeric order
    assert lines[0] == {"source-ref": "s3://in/2.jpg", "first": 0, "first-metadata": meta}  # relabeled later
    chained = {"source-ref": "s3://in/10.jpg", "first": 0, "first-metadata": meta, "second": 1, "second-metadata": meta}
    assert lines[1] == chained
    assert list(lines[1]) == ["source-ref", "first", "first-metadata", "second", "second-metadata"]


def test_labels_from_the_stack_outputs(replayed_labels: Any, moto_server: MotoServer, tmp_path: Path) -> None:
    upload(moto_server, replayed_labels("bbox-three-iterations"))
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "LabelsBucketName": {"Value": LABELS_BUCKET},
            "OutputBucketName": {"Value": "gt-output-bucket"},
        },
    }
    moto_server.client("cloudformation").create_stack(StackName="gtproc", TemplateBody=json.dumps(template))
    by_uri = moto_server.gtproc("labels", f"s3://{LABELS_BUCKET}/labels/gt-output-bucket/cars-bbox/")

    by_stack = moto_server.gtproc("labels", "--stack", "gtproc", "--job", "cars-bbox")

    assert by_stack.returncode == 0, by_stack.stderr
    assert by_stack.stdout == by_uri.stdout and len(by_stack.stdout.splitlines()) == 30
    assert_one_line_error(moto_server.gtproc("labels", "--stack", "nope", "--job", "cars-bbox"), "--stack nope")


def test_labels_bad_input_is_one_line_and_exit_2(moto_server: MotoServer) -> None:
    upload(moto_server, {"labels/b/job/part-00000001-r-0000.jsonl": b""})
    assert_one_line_error(moto_server.gtproc("labels", "s3://no-such-bucket/labels/b/job/"), "no-such-bucket")
    assert_one_line_error(moto_server.gtproc("labels", f"s3://{LABELS_BUCKET}/labels/b/other/"), "no labels here")
    assert_one_line_error(moto_server.gtproc("labels"), "LABELS_URI")
    assert_one_line_error(moto_server.gtproc("labels", "not-a-uri"), "s3://")


def test_labels_with_denied_reads_is_one_line_and_exit_2(replayed_labels: Any, moto_server: MotoServer) -> None:
    upload(moto_server, replayed_labels("bbox-three-iterations"))
    iam = moto_server.client("iam")
    iam.create_user(UserName="lister")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    iam.put_user_policy(UserName="lister", PolicyName="list-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="lister")["AccessKey"]
    moto_server.enforce_iam()  # moto's IAM enforcement: GetObject is not in the policy, S3 answers 403
    keys = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    result = moto_server.gtproc("labels", f"s3://{LABELS_BUCKET}/labels/gt-output-bucket/cars-bbox/", env=keys)

    assert_one_line_error(result, "access denied", "none of the 3 label parts")
    assert result.stdout == ""
