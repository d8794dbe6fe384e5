"""`gtproc backfill` as a user runs it: a subprocess against a moto server (tests/cli/conftest.py).
The behaviour in depth (order, history, in-account, --rate) is in tests/replay/test_backfill.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import JOBS, MotoServer
from tests.cli.test_progress_cli import BAR, on_a_terminal

pytestmark = pytest.mark.integration

BUCKET = "gt-output-bucket"
TREE = JOBS / "bbox-three-iterations"


def upload(server: MotoServer) -> list[str]:
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    keys = []
    for path in sorted(p for p in TREE.rglob("*") if p.is_file()):
        key = path.relative_to(TREE).as_posix()
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
        keys.append(key)
    return keys


def lister_denied(server: MotoServer, denied: str) -> dict[str, str]:
    """Credentials that may list the bucket and read every object but those under `denied`; IAM enforced."""
    iam = server.client("iam")
    iam.create_user(UserName="backfiller")
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/{denied}*"},
    ]
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName="backfiller", PolicyName="no-final", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="backfiller")["AccessKey"]
    server.enforce_iam()
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def test_local_on_a_terminal_draws_a_bar_and_none_when_piped(moto_server: MotoServer) -> None:
    upload(moto_server)
    args = ["backfill", f"s3://{BUCKET}/", "--local", "--quiet"]
    code, shown = on_a_terminal(args, moto_server.env)
    assert code == 0, shown
    assert BAR.search(shown) and " writes" in shown and "100%" in shown
    piped = moto_server.gtproc(*args)
    assert piped.returncode == 0, piped.stderr
    assert "\r" not in piped.stderr + piped.stdout and "[#" not in piped.stderr
    assert "dead-letter queues: 0 messages" in piped.stdout


def test_local_an_object_the_credentials_cannot_read_is_named_and_exits_1(moto_server: MotoServer) -> None:
    """A real 403 (moto's IAM): one line for it, the rest processed, exit 1."""
    upload(moto_server)
    denied = "cars-bbox/manifests/output/"
    result = moto_server.gtproc(
        "backfill", f"s3://{BUCKET}/", "--local", "--quiet", env=lister_denied(moto_server, denied)
    )
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"gtproc backfill: s3://{BUCKET}/{denied}output.manifest: cannot read: AccessDenied")
    assert "Objects Labeled" in result.stdout and "Labeling Job Completed" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["s3://gt-output-bucket"], "stack Gtproc"),  # in-account, no stack deployed
        (["s3://gt-output-bucket/", "--stack", "Other"], "stack Other"),
        (["gt-output-bucket/cars-bbox/", "--local"], "expected s3://BUCKET/[PREFIX]"),
        (["s3://no-such-bucket/", "--local"], "NoSuchBucket"),
        (["s3://gt-output-bucket/", "--rate", "-3"], "--rate must be a positive number"),
    ],
)
def test_a_bad_uri_or_a_missing_stack_exits_2_in_one_line(
    moto_server: MotoServer, args: list[str], message: str
) -> None:
    upload(moto_server)
    result = moto_server.gtproc("backfill", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_dry_run_in_account_lists_to_the_stack_queues(moto_server: MotoServer, tmp_path: Path) -> None:
    keys = upload(moto_server)
    template = {
        "Resources": {
            f"{name}Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"gtproc-{name.lower()}"}}
            for name in ("Manifests", "Annotations")
        },
        "Outputs": {f"{name}QueueUrl": {"Value": {"Ref": f"{name}Queue"}} for name in ("Manifests", "Annotations")},
    }
    moto_server.client("cloudformation").create_stack(StackName="Gtproc", TemplateBody=json.dumps(template))
    result = moto_server.gtproc("backfill", f"s3://{BUCKET}/", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("would send")]
    routed = [key for key in keys if "consolidation-request" not in key]
    assert sorted(line.split()[2] for line in lines) == sorted(routed)
    assert all(line.endswith(("/gtproc-manifests", "/gtproc-annotations")) for line in lines)
    sqs = moto_server.client("sqs")
    for name in ("gtproc-manifests", "gtproc-annotations"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
