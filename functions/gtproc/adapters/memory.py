"""In-memory adapters: the same ports as AWS, for unit tests and for reasoning about the use cases."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from gtproc.domain.ledger import FactKey
from gtproc.usecases.ports import (
    EventEntry,
    JobInfo,
    JobLease,
    JobStatusInfo,
    LeaseHeld,
    ObjectMissing,
    ObjectTooLarge,
)


@dataclass
class MemoryObjects:
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    chunk_bytes: int = 64 * 1024

    def read_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        data = self.objects.get((bucket, key))
        if data is None:
            raise ObjectMissing(f"s3://{bucket}/{key}")
        return iter([data[i : i + self.chunk_bytes] for i in range(0, len(data), self.chunk_bytes)])


@dataclass
class MemoryPublisher:
    events: list[EventEntry] = field(default_factory=list)
    calls: int = 0
    fail_next: list[set[int]] = field(default_factory=list)  # positions to reject, per upcoming call

    def put(self, entries: Sequence[EventEntry]) -> list[int]:
        self.calls += 1
        failing = self.fail_next.pop(0) if self.fail_next else set()
        for position, entry in enumerate(entries):
            if position not in failing:
                self.events.append(entry)
        return sorted(position for position in failing if position < len(entries))


@dataclass
class _Job:
    version: int = 0
    owner: str | None = None
    expires: float = 0.0
    summary: dict[str, object] = field(default_factory=dict)


@dataclass
class MemoryJobState:
    jobs: dict[str, _Job] = field(default_factory=dict)
    journal: dict[tuple[str, int], list[FactKey]] = field(default_factory=dict)
    calls: int = 0

    def acquire(self, job_id: str, owner: str, now: float, lease_seconds: int) -> JobLease:
        self.calls += 1
        job = self.jobs.setdefault(job_id, _Job())
        if job.owner is not None and job.owner != owner and job.expires > now:
            raise LeaseHeld(job_id)
        job.owner, job.expires = owner, now + lease_seconds
        return JobLease(job_id, owner, job.version)

    def record_published(self, lease: JobLease, facts: Sequence[FactKey], now: float) -> None:
        self.calls += 1
        self.journal.setdefault((lease.job_id, lease.version + 1), []).extend(facts)

    def published_since(self, job_id: str, version: int) -> list[FactKey]:
        self.calls += 1
        return list(self.journal.get((job_id, version + 1), []))

    def commit(self, lease: JobLease, new_version: int, now: float, summary: dict[str, object]) -> None:
        self.calls += 1
        job = self.jobs[lease.job_id]
        if job.owner != lease.owner:
            raise LeaseHeld(f"{lease.job_id}: lease lost before commit")
        job.version, job.owner, job.summary = new_version, None, summary

    def release(self, lease: JobLease) -> None:
        self.calls += 1
        job = self.jobs.get(lease.job_id)
        if job is not None and job.owner == lease.owner:
            job.owner = None


@dataclass
class MemoryLabels:
    ledgers: dict[str, bytes] = field(default_factory=dict)
    parts: dict[str, dict[str, bytes]] = field(default_factory=dict)
    calls: int = 0

    def load_ledger(self, job_id: str) -> bytes | None:
        self.calls += 1
        return self.ledgers.get(job_id)

    def save_ledger(self, job_id: str, data: bytes) -> None:
        self.calls += 1
        self.ledgers[job_id] = data

    def append_labels(self, job_id: str, part: str, lines: bytes) -> None:
        self.calls += 1
        self.parts.setdefault(job_id, {})[part] = lines

    def read_parts(self, job_id: str, part_prefix: str) -> list[bytes]:
        self.calls += 1
        parts = self.parts.get(job_id, {})
        return [parts[name] for name in sorted(parts) if name.startswith(part_prefix)]

    def labels_uri(self, job_id: str) -> str:
        return f"memory://labels/{job_id}/"


@dataclass
class MemoryBlobs:
    """A BlobStore over a dict (and the object reader of MemoryObjects)."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def read(self, bucket: str, key: str, max_bytes: int | None = None) -> bytes:
        data = self.objects.get((bucket, key))
        if data is None:
            raise ObjectMissing(f"s3://{bucket}/{key}")
        if max_bytes is not None and len(data) > max_bytes:
            raise ObjectTooLarge(f"{bucket}/{key} is {len(data)} bytes, over the limit of {max_bytes}")
        return data

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(key for b, key in self.objects if b == bucket and key.startswith(prefix))

    def write(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[(bucket, key)] = body


@dataclass
class MemoryJobs:
    jobs: dict[str, JobInfo] = field(default_factory=dict)
    calls: int = 0

    def describe(self, job_name: str) -> JobInfo | None:
        self.calls += 1
        return self.jobs.get(job_name)


@dataclass
class MemoryAnnotationStore:
    quality: dict[str, tuple[dict[str, object], int]] = field(default_factory=dict)
    records: dict[tuple[str, str], dict[str, object]] = field(default_factory=dict)

    def load_quality(self, job_id: str) -> tuple[dict[str, object] | None, int]:
        state, version = self.quality.get(job_id, (None, 0))
        return (dict(state) if state is not None else None), version

    def save_quality(self, job_id: str, state: dict[str, object], expected_version: int) -> bool:
        if self.quality.get(job_id, (None, 0))[1] != expected_version:
            return False
        self.quality[job_id] = (state, expected_version + 1)
        return True

    def claim(self, job_id: str, record_id: str, owner: str, now: float, record: dict[str, object]) -> bool:
        if (job_id, record_id) in self.records:
            return False
        self.records[(job_id, record_id)] = {**record, "_owner": owner, "_claimed_at": now}
        return True

    def get(self, job_id: str, record_id: str) -> dict[str, object] | None:
        record = self.records.get((job_id, record_id))
        return {k: v for k, v in record.items() if not k.startswith("_")} if record is not None else None

    def get_with_quality(
        self, job_id: str, record_id: str
    ) -> tuple[dict[str, object] | None, tuple[dict[str, object] | None, int]]:
        return self.get(job_id, record_id), self.load_quality(job_id)

    def mark_published(self, job_id: str, record_id: str) -> None:
        self.records[(job_id, record_id)]["status"] = "published"

    def unclaim(self, job_id: str, record_id: str, owner: str) -> None:
        record = self.records.get((job_id, record_id))
        if record is not None and record.get("_owner") == owner:
            del self.records[(job_id, record_id)]

    def release_stale(self, job_id: str, record_id: str, claimed_before: float) -> None:
        record = self.records.get((job_id, record_id))
        if record is not None and record.get("status") != "published" and record["_claimed_at"] < claimed_before:
            del self.records[(job_id, record_id)]

    def take_over(
        self, job_id: str, record_id: str, owner: str, now: float, claimed_before: float
    ) -> dict[str, object] | None:
        record = self.records.get((job_id, record_id))
        if record is None or record.get("status") == "published" or record["_claimed_at"] >= claimed_before:
            return None
        record["_owner"], record["_claimed_at"] = owner, now
        return self.get(job_id, record_id)

    def release_claim(self, job_id: str, record_id: str, owner: str) -> None:
        record = self.records.get((job_id, record_id))
        if record is not None and record.get("_owner") == owner:
            record["_claimed_at"] = float("-inf")


@dataclass
class MemoryLabelingJobs:
    """DescribeLabelingJob for tests and the local replay: what the caller says of each job."""

    jobs: dict[str, JobStatusInfo] = field(default_factory=dict)
    calls: int = 0

    def status(self, job_name: str) -> JobStatusInfo | None:
        self.calls += 1
        return self.jobs.get(job_name)
