"""`gtproc validate s3://BUCKET/PREFIX/` and `gtproc consolidate s3://BUCKET/PREFIX/JOB/` against a moto
server the test starts, run as a user runs them (a subprocess with AWS_ENDPOINT_URL): the same reports and
output as for the local files, and a missing key, a missing bucket or a denied read is one line, exit 2.

Denied reads are moto's own IAM enforcement (`/moto-api/reset-auth`): a user whose policy allows listing
but not GetObject, so S3 answers 403 AccessDenied as it would on AWS.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gtproc.domain.consolidation import encode_png

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "events" / "jobs"
BUCKET = "gt-output-bucket"
MotoServer = Any  # tests/cli/conftest.py's moto_server fixture


def upload_tree(server: MotoServer, root: Path, prefix: str = "", bucket: str = BUCKET) -> Any:
    s3 = server.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=prefix + path.relative_to(root).as_posix(), Body=path.read_bytes())
    return s3


def reader_without_get(server: MotoServer, denied: str | None = None) -> dict[str, str]:
    """Credentials of a user who may list the bucket but not read its objects (or, with `denied`, may read
    every object but those under that key prefix); IAM enforced from now on."""
    iam = server.client("iam")
    iam.create_user(UserName="lister")
    allowed = ["s3:ListBucket"] if denied is None else ["s3:ListBucket", "s3:GetObject"]
    statements: list[dict[str, Any]] = [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]
    if denied is not None:
        statements.append({"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/{denied}*"})
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName="lister", PolicyName="list-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="lister")["AccessKey"]
    server.enforce_iam()
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def assert_one_line_error(result: Any, *words: str, lines: int = 1) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    found = result.stderr.strip().splitlines()
    assert len(found) == lines, result.stderr
    for word in words:
        assert all(word in line for line in found), found


# validate a prefix


def test_validate_prefix_reports_each_manifest_and_a_total_as_locally(moto_server: MotoServer) -> None:
    upload_tree(moto_server, JOBS / "bbox-three-iterations")
    upload_tree(moto_server, JOBS / "bad-input")
    s3 = moto_server.client("s3")
    # More keys than one listing page (1000) before the last manifests: the paginator must go on.
    for n in range(1001):
        s3.put_object(Bucket=BUCKET, Key=f"aaa-noise/{n:04d}.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="zzz/extra.manifest", Body=b'{"source-ref":"s3://in/a.jpg"}\n')

    result = moto_server.gtproc("validate", "--json", f"s3://{BUCKET}/")

    assert result.returncode == 1, result.stderr  # bad-input has invalid lines
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    *each, total = reports
    manifests = sorted(
        [f"{p.relative_to(JOBS / tree).as_posix()}" for tree in ("bbox-three-iterations", "bad-input")
         for p in (JOBS / tree).rglob("*.manifest")] + ["zzz/extra.manifest"]
    )  # fmt: skip
    assert [r["path"] for r in each] == [f"s3://{BUCKET}/{key}" for key in manifests]
    for report in each[:-1]:
        key = report["path"].removeprefix(f"s3://{BUCKET}/")
        tree = "bad-input" if key.startswith("broken-job/") else "bbox-three-iterations"
        local = moto_server.gtproc("validate", "--json", JOBS / tree / key)
        assert {**json.loads(local.stdout), "path": report["path"]} == report
    assert each[-1]["unlabeled"] == 1
    assert total["path"] == f"s3://{BUCKET}/" and total["manifests"] == len(manifests)
    for name in ("lines", "labeled", "unlabeled", "failed", "invalid"):
        assert total[name] == sum(r[name] for r in each)
    assert total["invalidManifests"] == sum(1 for r in each if r["invalid"] or r["errors"]) > 0
    assert total["unreadableManifests"] == 0

    text = moto_server.gtproc("validate", f"s3://{BUCKET}/cars-bbox/manifests")  # no trailing slash: a prefix?
    assert text.returncode == 2  # a key, not a prefix: it names one object, which does not exist
    prefix = moto_server.gtproc("validate", f"s3://{BUCKET}/cars-bbox/manifests/")
    assert prefix.returncode == 0, prefix.stderr
    assert prefix.stdout.splitlines()[-1] == (
        f"s3://{BUCKET}/cars-bbox/manifests/: TOTAL OK: 4 manifests (0 invalid, 0 unreadable): 120 lines:"
        " 90 labeled, 30 unlabeled, 0 failed, 0 invalid"  # 10 + 20 + 30 + 30 labeled
    )


def test_validate_prefix_bad_inputs_are_one_line_and_exit_2(moto_server: MotoServer) -> None:
    upload_tree(moto_server, JOBS / "bbox-three-iterations")
    assert_one_line_error(moto_server.gtproc("validate", "s3://no-such-bucket/jobs/"), "no-such-bucket", "not exist")
    assert_one_line_error(moto_server.gtproc("validate", f"s3://{BUCKET}/nothing-here/"), "no output.manifest")
    assert_one_line_error(moto_server.gtproc("validate", f"s3://{BUCKET}/cars-bbox/missing.manifest"), "not exist")
    missing_json = moto_server.gtproc("validate", "--json", "s3://no-such-bucket/")
    assert json.loads(missing_json.stdout)["path"] == "s3://no-such-bucket/"


def test_validate_prefix_with_denied_reads_names_each_manifest(moto_server: MotoServer) -> None:
    upload_tree(moto_server, JOBS / "bbox-three-iterations")
    keys = reader_without_get(moto_server)

    result = moto_server.gtproc("validate", f"s3://{BUCKET}/cars-bbox/", env=keys)

    assert_one_line_error(result, "access denied", lines=4)
    assert "0 unreadable" not in result.stdout and "4 unreadable" in result.stdout
    denied_listing = moto_server.gtproc("validate", f"s3://{BUCKET}/", env={**keys, "AWS_ACCESS_KEY_ID": "AKIAWRONG"})
    assert_one_line_error(denied_listing, f"s3://{BUCKET}")


# consolidate a job from S3


def without_dates(text: str) -> list[dict[str, Any]]:
    """The output lines with creation-date blanked: it is the time of the run."""
    return [json.loads(re.sub(r'"creation-date":"[^"]*"', '"creation-date":""', line)) for line in text.splitlines()]


@pytest.mark.parametrize("extra", [(), ("--live",)])
def test_consolidate_from_s3_gives_the_local_output(moto_server: MotoServer, extra: tuple[str, ...]) -> None:
    upload_tree(moto_server, JOBS / "bbox-three-iterations", prefix="jobs/")
    local = moto_server.gtproc("consolidate", JOBS / "bbox-three-iterations" / "cars-bbox", "--json", *extra)

    remote = moto_server.gtproc("consolidate", f"s3://{BUCKET}/jobs/cars-bbox/", "--json", *extra)

    assert remote.returncode == local.returncode == 0, remote.stderr
    assert len(remote.stdout.splitlines()) == 30
    assert without_dates(remote.stdout) == without_dates(local.stdout)
    assert remote.stderr == local.stderr  # the summary


def _mask(value: int) -> str:
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[:2, :, 0] = value
    return base64.b64encode(encode_png(pixels)).decode()


def test_consolidate_from_s3_writes_masks_locally(moto_server: MotoServer, tmp_path: Path) -> None:
    job = tmp_path / "pets-custom"
    for oid in ("0", "1"):
        folder = job / "annotations" / "worker-response" / "iteration-1" / oid
        folder.mkdir(parents=True)
        answers = [
            {
                "workerId": worker,
                "answerContent": {
                    "area": {
                        "labeledImage": {"pngImageData": _mask(255)},
                        "labelMappings": {"fur": {"color": "#ff0000"}},
                    }
                },
            }
            for worker in ("w1", "w2", "w3")
        ]
        (folder / "2024-01-01_00:00:00.json").write_text(json.dumps({"answers": answers}))
    upload_tree(moto_server, tmp_path, prefix="p/")
    masks = tmp_path / "masks"
    local = moto_server.gtproc("consolidate", job, "--masks-dir", masks)
    local_masks = {p.relative_to(masks): p.read_bytes() for p in masks.rglob("*.png")}
    for path in masks.rglob("*.png"):
        path.unlink()

    remote = moto_server.gtproc("consolidate", f"s3://{BUCKET}/p/pets-custom", "--masks-dir", masks)

    assert remote.returncode == 0, remote.stderr
    assert without_dates(remote.stdout) == without_dates(local.stdout)
    assert {p.relative_to(masks): p.read_bytes() for p in masks.rglob("*.png")} == local_masks
    assert len(local_masks) == 2


def test_consolidate_from_s3_bad_inputs_are_one_line_and_exit_2(moto_server: MotoServer) -> None:
    upload_tree(moto_server, JOBS / "bbox-three-iterations", prefix="jobs/")
    assert_one_line_error(moto_server.gtproc("consolidate", "s3://no-such-bucket/jobs/cars-bbox/"), "no-such-bucket")
    assert_one_line_error(moto_server.gtproc("consolidate", f"s3://{BUCKET}/jobs/nope/"), "nothing under")
    assert_one_line_error(moto_server.gtproc("consolidate", f"s3://{BUCKET}/jobs/"), "no iteration-<N>")


def test_consolidate_from_s3_with_every_read_denied_is_one_line_and_exit_2(moto_server: MotoServer) -> None:
    upload_tree(moto_server, JOBS / "bbox-three-iterations", prefix="jobs/")
    keys = reader_without_get(moto_server)

    result = moto_server.gtproc("consolidate", f"s3://{BUCKET}/jobs/cars-bbox/", env=keys)

    assert_one_line_error(result, "access denied", "30 worker-response files")
    assert result.stdout == ""
    listing = moto_server.gtproc(
        "consolidate", f"s3://{BUCKET}/jobs/cars-bbox/", env={**keys, "AWS_ACCESS_KEY_ID": "AKIAWRONG"}
    )
    assert_one_line_error(listing, f"s3://{BUCKET}")


def test_consolidate_from_s3_with_one_read_denied_consolidates_the_others(moto_server: MotoServer) -> None:
    upload_tree(moto_server, JOBS / "bbox-three-iterations", prefix="jobs/")
    keys = reader_without_get(moto_server, denied="jobs/cars-bbox/annotations/worker-response/iteration-1/9/")

    result = moto_server.gtproc("consolidate", f"s3://{BUCKET}/jobs/cars-bbox/", env=keys)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3, errors  # the file, its object left out, the summary
    assert "iteration-1/9/" in errors[0] and "access denied" in errors[0]
    assert "iteration 1, object 9 left out" in errors[1]
    assert "29 consolidated, 1 left out" in errors[2]
    ids = [json.loads(line)["datasetObjectId"] for line in result.stdout.splitlines()]
    assert len(ids) == 29 and "9" not in ids


def test_replay_of_an_s3_uri_is_one_line_and_exit_2(moto_server: MotoServer) -> None:
    result = moto_server.gtproc("replay", "s3://bucket/jobs")
    assert_one_line_error(result, "s3://bucket/jobs", "aws s3 sync")
    assert "s3:/bucket" not in result.stderr.replace("s3://", "")
