"""Cold start of each Lambda function next to a typical Powertools SQS handler, side by side in one run.

Each measurement is a fresh interpreter that imports the handler module (timed) and processes its
first record (timed) against a moto server in this process, with the function's settings and a
Lambda-like environment (tracing on, its segments sent to a daemon that is not there). Interpreter
start-up is the same for all and not counted. Before each run the moto server is reset and the
resources and inputs are made again, so every run sees the same fresh state. Targets run round-robin,
so a load spike on the shared machine hits them all alike.

    .venv/bin/python benchmarks/bench_cold_start.py [--rounds 15] [--baseline CHECKOUT]

`--baseline` adds the three functions of another checkout (e.g. `git worktree add /tmp/base main`) to
the same run, for a before/after.

The reference (benchmarks/reference_handler.py) processes the same manifest write as the manifests
function: parse, read the object, count its lines, one DynamoDB write.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "events" / "jobs" / "bbox-three-iterations"
RECIPE = ROOT / "tests" / "unit" / "annotations" / "data" / "aws-recipe"
REGION = "us-east-1"
OUTPUT, LABELS, TABLE, BUS = "gt-output-bucket", "gtproc-labels", "gtproc-state", "gtproc"
MANIFEST_KEY = "cars-bbox/manifests/intermediate/1/output.manifest"
WORKER_KEY = "cars-bbox/annotations/worker-response/iteration-1/26/2024-03-12_09:16:21.json"

CHILD = r"""
import importlib, json, sys, time, types
target, event = sys.argv[1], json.loads(sys.argv[2])
context = types.SimpleNamespace(
    function_name="gtproc-cold", function_version="$LATEST", memory_limit_in_mb=1024,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:gtproc-cold",
    aws_request_id="00000000-0000-0000-0000-000000000000", log_group_name="/aws/lambda/gtproc-cold",
    log_stream_name="cold", get_remaining_time_in_millis=lambda: 300_000,
)
start, cpu_start = time.perf_counter(), time.process_time()
module = importlib.import_module(target)
imported = time.perf_counter()
response = module.handler(event, context)
done, cpu_done = time.perf_counter(), time.process_time()
print("COLDSTART " + json.dumps({
    "import": imported - start, "first": done - imported, "cpu": cpu_done - cpu_start, "response": response,
    "numpy": "numpy" in sys.modules, "moto": "moto" in sys.modules, "pydantic": "pydantic" in sys.modules,
    "modules": len(sys.modules),
}))
"""


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    event: dict
    functions: Path = ROOT / "functions"  # the checkout whose gtproc is measured


def sqs_event(key: str) -> dict:
    body = {
        "version": "0",
        "id": "75bd5125-db54-435f-9802-db897f041728",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-03-12T09:26:41Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{OUTPUT}"],
        "detail": {
            "version": "0",
            "bucket": {"name": OUTPUT},
            "object": {"key": quote(key, safe="/"), "size": 1, "etag": "0", "sequencer": "0065F01FD0F72A0D53"},
            "request-id": "USJD3W94774THJUD",
            "requester": "123456789012",
            "source-ip-address": "3.227.4.18",
            "reason": "PutObject",
        },
    }
    record = {
        "messageId": "5963d9c7-7771-45b3-81c4-578bf7ac0685",
        "receiptHandle": "AQEB",
        "body": json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1710235602020",
            "SenderId": "AIDAIE6VAXUQU2DKHA7DK",
            "ApproximateFirstReceiveTimestamp": "1710235602040",
        },
        "messageAttributes": {},
        "md5OfBody": "0",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:gtproc-object-created",
        "awsRegion": REGION,
    }
    return {"Records": [record]}


TARGETS = (
    Target("typical Powertools SQS handler (reference)", "reference_handler", sqs_event(MANIFEST_KEY)),
    Target("manifests", "gtproc.handlers.manifests", sqs_event(MANIFEST_KEY)),
    Target("annotations", "gtproc.handlers.annotations", sqs_event(WORKER_KEY)),
    Target(
        "post-annotation",
        "gtproc.handlers.post_annotation",
        json.loads((RECIPE / "annotation_consolidation_test_event.json").read_text()),
    ),
)


def prepare(endpoint: str) -> None:
    """Reset the moto server, then make the resources and inputs again (boto3 only in this process)."""
    import boto3

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    for bucket in (OUTPUT, LABELS, "test-bucket"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=OUTPUT, Key=MANIFEST_KEY, Body=(JOB / MANIFEST_KEY).read_bytes())
    s3.put_object(Bucket=OUTPUT, Key=WORKER_KEY, Body=(JOB / WORKER_KEY).read_bytes())
    payload = RECIPE / "sample_annotation_consolidation_payload.json"
    s3.put_object(Bucket="test-bucket", Key=payload.name, Body=payload.read_bytes())
    boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION).create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("events", endpoint_url=endpoint, region_name=REGION).create_event_bus(Name=BUS)


def stack_environment(functions: Path) -> dict[str, str]:
    """What that checkout's stack sets on every function beside its settings (FUNCTION_ENVIRONMENT in
    its contract, read as a literal: an older checkout may not have it)."""
    layout = functions / "gtproc" / "contract" / "layout.py"
    for node in ast.parse(layout.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FUNCTION_ENVIRONMENT" for t in node.targets):
            return dict(ast.literal_eval(node.value))
    return {}


def child_env(endpoint: str, functions: Path) -> dict[str, str]:
    return {
        **stack_environment(functions),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(functions), str(ROOT / "benchmarks")]),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # As in Lambda: tracing on (Powertools enables it when LAMBDA_TASK_ROOT is set).
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "gtproc-cold",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_SERVICE_NAME": "gtproc",
        "POWERTOOLS_METRICS_NAMESPACE": "gtproc",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "GTPROC_EVENT_BUS_NAME": BUS,
        "GTPROC_TABLE_NAME": TABLE,
        "GTPROC_LABELS_BUCKET": LABELS,
        "GTPROC_DESCRIBE_JOBS": "false",
    }


def run(target: Target, endpoint: str) -> dict:
    prepare(endpoint)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, target.module, json.dumps(target.event)],
        capture_output=True,
        text=True,
        env=child_env(endpoint, target.functions),
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("COLDSTART ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{target.name}: exit {result.returncode}\n{result.stderr[-3000:]}")
    measured = json.loads(lines[-1].removeprefix("COLDSTART "))
    response = measured["response"]
    # A failed record would make the figure meaningless: every run must have done its work.
    if (isinstance(response, dict) and response.get("batchItemFailures")) or not response:
        raise SystemExit(f"{target.name}: the first record failed: {response}\n{result.stdout[-3000:]}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="another checkout whose functions run alongside")
    args = parser.parse_args()
    targets = list(TARGETS)
    if args.baseline is not None:
        functions = args.baseline.resolve() / "functions"
        targets += [Target(f"{t.name} (baseline)", t.module, t.event, functions) for t in TARGETS[1:]]

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    runs: dict[str, list[dict]] = {t.name: [] for t in targets}
    load_before = os.getloadavg()[0]
    try:
        for round_ in range(args.rounds):
            # The order turns each round, so no target always runs first or after the same one.
            shift = round_ % len(targets)
            for target in targets[shift:] + targets[:shift]:
                runs[target.name].append(run(target, endpoint))
            print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr)
    finally:
        server.stop()

    def figure(run: dict, field: str) -> float:
        return run["import"] + run["first"] if field == "total" else run[field]

    def median(name: str, field: str) -> float:
        return statistics.median(figure(r, field) for r in runs[name])

    def ratios(name: str, field: str) -> list[float]:
        """Each round's figure of the target over the reference's in the same round."""
        pairs = zip(runs[name], runs[TARGETS[0].name], strict=True)
        return [figure(run, field) / figure(ref, field) for run, ref in pairs]

    def paired(name: str, field: str) -> float:
        """The median over rounds of the round's ratio: the host's speed drifts between rounds far
        more than within one."""
        return statistics.median(ratios(name, field))

    def interval(name: str, field: str) -> str:
        """A 95% bootstrap interval of the paired ratio (rounds resampled, seeded): how far the figure
        could move in another run of as many rounds."""
        each, rng = ratios(name, field), random.Random(0)
        medians = sorted(statistics.median(rng.choices(each, k=len(each))) for _ in range(2000))
        return f"{medians[49]:.2f}-{medians[1949]:.2f}"

    reference, reference_cpu = median(TARGETS[0].name, "total"), median(TARGETS[0].name, "cpu")
    print(f"{args.rounds} rounds, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print("medians in ms; ratio = total / the reference's total")
    print("cpu: the function's own CPU time over import and first record (not the moto server's), which")
    print("a loaded machine inflates less than the wall time")
    print("paired: the median over rounds of the ratio within each round (the same for cpu), and its 95%")
    print("bootstrap interval")
    print("numpy, pydantic, moto: whether the run had loaded it by the end of its first record\n")
    print(
        "| function | import | first record | total | ratio | cpu | cpu ratio | paired ratio | paired cpu ratio "
        "| paired interval | paired cpu interval | numpy | pydantic | moto | modules |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|")
    for target in targets:
        name, last = target.name, runs[target.name][-1]
        total, cpu = median(name, "total"), median(name, "cpu")
        print(
            f"| {name} | {median(name, 'import') * 1000:.0f} | {median(name, 'first') * 1000:.0f} "
            f"| {total * 1000:.0f} | {total / reference:.2f}x | {cpu * 1000:.0f} | {cpu / reference_cpu:.2f}x "
            f"| {paired(name, 'total'):.2f}x | {paired(name, 'cpu'):.2f}x "
            f"| {interval(name, 'total')} | {interval(name, 'cpu')} "
            f"| {'yes' if last['numpy'] else 'no'} "
            f"| {'yes' if last['pydantic'] else 'no'} | {'yes' if last['moto'] else 'no'} | {last['modules']} |"
        )


if __name__ == "__main__":
    main()
