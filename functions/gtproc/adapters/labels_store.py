"""The job's labels so far and its ledger, in the labels bucket (which has no event notifications,
so nothing written here can trigger the pipeline again).

- `s3://<bucket>/<labels prefix>/<output bucket>/<job path>/part-<version>-<run>-<n>.jsonl`: the labels
  so far, one JSON line per published object; read every part in name order. A job's parts are the
  objects directly under its labelsUri (a delimiter listing): a job nested in another job's path has
  at least one more "/" in its keys, so it is never read as the outer job's.
- `s3://<bucket>/state/<output bucket>/<job path>/ledger.bin`: the compressed ledger.
"""

from __future__ import annotations

from typing import Any

from gtproc.adapters.s3 import S3Objects
from gtproc.contract.layout import LABELS_PREFIX, LEDGERS_PREFIX
from gtproc.usecases.ports import ObjectMissing


class S3LabelStore:
    def __init__(self, bucket: str, prefix: str = LABELS_PREFIX, s3: S3Objects | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.s3 = s3 or S3Objects()
        self.calls = 0

    def _ledger_key(self, job_id: str) -> str:
        return f"{LEDGERS_PREFIX}/{job_id}/ledger.bin"

    def labels_prefix(self, job_id: str) -> str:
        return f"{self.prefix}/{job_id}/" if self.prefix else f"{job_id}/"

    def load_ledger(self, job_id: str) -> bytes | None:
        self.calls += 1
        try:
            return self.s3.read(self.bucket, self._ledger_key(job_id))
        except ObjectMissing:
            return None  # a job's first run

    def save_ledger(self, job_id: str, data: bytes) -> None:
        self.calls += 1
        self.s3.write(self.bucket, self._ledger_key(job_id), data)

    def append_labels(self, job_id: str, part: str, lines: bytes) -> None:
        self.calls += 1
        self.s3.write(self.bucket, f"{self.labels_prefix(job_id)}part-{part}.jsonl", lines, "application/x-ndjson")

    def read_parts(self, job_id: str, part_prefix: str) -> list[bytes]:
        self.calls += 1
        keys = self.s3.list_keys(self.bucket, f"{self.labels_prefix(job_id)}part-{part_prefix}", direct=True)
        return [data for key in sorted(keys) if (data := self._read_if_present(key)) is not None]

    def _read_if_present(self, key: str) -> bytes | None:
        try:
            return self.s3.read(self.bucket, key)
        except ObjectMissing:
            return None

    def labels_uri(self, job_id: str) -> str:
        return f"s3://{self.bucket}/{self.labels_prefix(job_id)}"

    def read_labels(self, job_id: str) -> list[dict[str, Any]]:
        """Every label published so far for the job (for tools and tests)."""
        import msgspec

        keys = sorted(self.s3.list_keys(self.bucket, f"{self.labels_prefix(job_id)}part-", direct=True))
        labels: list[dict[str, Any]] = []
        for key in keys:
            body = self._read_if_present(key) or b""
            labels.extend(msgspec.json.decode(line) for line in body.splitlines() if line)
        return labels
