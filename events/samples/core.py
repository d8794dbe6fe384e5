"""Shared core: constants, JSON and time helpers, the output tree, manifest counts, workers."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

BUCKET = "gt-output-bucket"
INPUT_BUCKET = "gt-input-bucket"
REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:gtproc-object-created"
# SenderId values seen on real SQS messages delivered by EventBridge and by S3 notifications.
SQS_SENDER_EVENTBRIDGE = "AIDAIE6VAXUQU2DKHA7DK"
SQS_SENDER_S3 = "AIDAJHIPRHEMV73VRJEBU"
# Prefix used by the special-key triggers (space, literal plus, Hangul, e-acute); NFC.
SPECIAL_PREFIX = "exports/Team A+B/라벨링 é/"
GT_ROLE_PRINCIPAL = "AWS:AROAX5GTEXAMPLE7ROLE:SageMaker"  # assumed-role principal that GT writes with
GT_SOURCE_IP = "3.227.4.18"
BUCKET_OWNER_PRINCIPAL = "A2EXAMPLEOWNER7Q"


# --------------------------------------------------------------------------------------------------
# small helpers


def cj(obj: Any) -> str:
    """Compact JSON as Ground Truth writes it (no spaces, UTF-8 kept)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def pretty(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def dt(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def file_ts(t: datetime) -> str:
    """Worker-response / consolidation file name: second resolution, with colons."""
    return t.strftime("%Y-%m-%d_%H:%M:%S")


def creation_date(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def iso_ms_z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def iso_s_z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def rand_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rand_chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def encode_key(key: str) -> str:
    """How S3 puts a key into an event: form-encoded UTF-8, '/' kept (':'->%3A, ' '->+, '+'->%2B)."""
    return quote_plus(key, safe="/")


# --------------------------------------------------------------------------------------------------
# output trees


@dataclass
class Write:
    key: str
    file: str  # relative to jobs/
    time: datetime
    data: bytes
    order: int


@dataclass
class Tree:
    jobs_dir: Path
    name: str
    writes: list[Write] = field(default_factory=list)

    def put(self, key: str, data: bytes, when: datetime, file_rel: str | None = None) -> None:
        rel = file_rel or f"{self.name}/{key}"
        self.writes.append(Write(key, rel, when, data, len(self.writes)))

    def flush(self) -> list[Write]:
        """Write the files in time order (later writes of a tree path win) and return that order."""
        ordered = sorted(self.writes, key=lambda w: (w.time, w.order))
        for w in ordered:
            path = self.jobs_dir / w.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(w.data)
        self.writes = ordered
        return ordered

    def plan_bytes(self) -> bytes:
        return "".join(cj({"key": w.key, "file": w.file}) + "\n" for w in self.writes).encode()

    def last_write(self, key: str) -> Write:
        return [w for w in self.writes if w.key == key][-1]

    def writes_of(self, key: str) -> list[Write]:
        return [w for w in self.writes if w.key == key]


def manifest_bytes(lines: list[dict[str, Any]]) -> bytes:
    return "".join(cj(line) + "\n" for line in lines).encode("utf-8")


def summarize(lines: list[dict[str, Any]], lan: str, kind: str) -> dict[str, Any]:
    """Counts of one manifest snapshot from its line dicts (the design; tests re-derive from bytes)."""
    labeled, human, auto, failed, unlabeled = [], [], [], [], []
    class_counts: dict[str, int] = {}
    boxes = 0
    for idx, line in enumerate(lines):
        meta = line.get(f"{lan}-metadata")
        if lan in line:
            labeled.append(idx)
            (human if meta.get("human-annotated") == "yes" else auto).append(idx)
            if kind == "classification":
                name = meta["class-name"]
                class_counts[name] = class_counts.get(name, 0) + 1
            else:
                for ann in line[lan]["annotations"]:
                    name = meta["class-map"][str(ann["class_id"])]
                    class_counts[name] = class_counts.get(name, 0) + 1
                    boxes += 1
        elif isinstance(meta, dict) and "failure-reason" in meta:
            failed.append(idx)
        else:
            unlabeled.append(idx)
    out: dict[str, Any] = {
        "lines": len(lines),
        "blankLines": 0,
        "invalidLines": 0,
        "objects": len(lines),
        "labeled": len(labeled),
        "humanLabeled": len(human),
        "autoLabeled": len(auto),
        "failed": len(failed),
        "unlabeled": len(unlabeled),
        "classCounts": dict(sorted(class_counts.items())),
    }
    if kind == "bbox":
        out["boxes"] = boxes
    out["labeledIds"] = labeled
    out["autoLabeledIds"] = auto
    out["failedIds"] = failed
    out["unlabeledIds"] = unlabeled
    return out


def check_manifest_bytes(data: bytes, lines: list[dict[str, Any]]) -> None:
    text = data.decode("utf-8")
    assert text.endswith("\n")
    physical = text.split("\n")[:-1]
    assert len(physical) == len(lines)
    for raw, line in zip(physical, lines, strict=True):
        assert json.loads(raw) == line
        assert raw == cj(json.loads(raw)), "not compact"


# --------------------------------------------------------------------------------------------------
# workers


@dataclass
class PrivateWorker:
    worker_id: str
    sub: str
    issuer: str


def private_workers(rng: random.Random, n: int) -> list[PrivateWorker]:
    pool = "us-east-1_" + rand_chars(rng, ALNUM, 9)
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    return [PrivateWorker("private.us-east-1." + rand_chars(rng, HEX, 16), rand_uuid(rng), issuer) for _ in range(n)]


def public_worker_id(rng: random.Random) -> str:
    return "public.us-east-1." + rand_chars(rng, BASE32, 26)


def private_answer(rng: random.Random, w: PrivateWorker, content: dict, submitted: datetime) -> dict:
    spent = round(rng.uniform(14.0, 95.0), 3)
    paused = rng.uniform(0.4, 6.0)
    accepted = submitted - timedelta(seconds=spent + paused)
    return {
        "acceptanceTime": iso_ms_z(accepted),
        "answerContent": content,
        "submissionTime": iso_ms_z(submitted),
        "timeSpentInSeconds": spent,
        "workerId": w.worker_id,
        "workerMetadata": {"identityData": {"identityProviderType": "Cognito", "issuer": w.issuer, "sub": w.sub}},
    }
