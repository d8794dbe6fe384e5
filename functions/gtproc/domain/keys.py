"""Parse S3 keys of the Ground Truth output layout: `<prefix>/<job>/<area>/...`."""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import unquote_plus

import msgspec


class Area(StrEnum):
    WORKER_RESPONSE = "worker-response"
    CONSOLIDATION_REQUEST = "consolidation-request"
    CONSOLIDATION_RESPONSE = "consolidation-response"
    CONSOLIDATED_OUTPUT = "consolidated-output"
    ANNOTATIONS_INTERMEDIATE = "annotations-intermediate"
    INTERMEDIATE_MANIFEST = "intermediate-manifest"
    FINAL_MANIFEST = "final-manifest"


class OutputKey(msgspec.Struct, frozen=True):
    """Where a key sits in a job's output tree. `iteration` and `object_index` when the layout has them."""

    key: str
    prefix: str  # everything before the job folder, "" when the job sits at the bucket root
    job_name: str
    area: Area
    iteration: int | None = None
    object_index: int | None = None

    @property
    def job_root(self) -> str:
        return f"{self.prefix}/{self.job_name}" if self.prefix else self.job_name

    def job_id(self, bucket: str) -> str:
        """The job's identity in gtproc's state: both pipelines key the job's DynamoDB partition on it."""
        return f"{bucket}/{self.job_root}"

    @property
    def is_video_frame(self) -> bool:
        """A per-frame worker response of a video task: `.../iteration-<N>/<idx>/<hex>/<frame>.json`."""
        return self.area is Area.WORKER_RESPONSE and self.key[len(self.job_root) + 1 :].count("/") == 5

    @property
    def is_manifest(self) -> bool:
        return self.area in (Area.INTERMEDIATE_MANIFEST, Area.FINAL_MANIFEST)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://<bucket>/<key>` -> (bucket, key); ValueError for anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket or not key:
        raise ValueError(f"an s3:// URI needs a bucket and a key: {uri}")
    return bucket, key


def decode_notification_key(raw_key: str) -> str:
    """S3 notifications URL-encode keys (space as `+`, `:` as `%3A`, `+` as `%2B`)."""
    return unquote_plus(raw_key)


# ASCII digits only: `\d` also takes '٣', which int() reads as 3, and a key of such digits would then
# share the claims of the real object 3.
_ITERATION = re.compile(r"iteration-([0-9]+)\Z")
_NUMBER = re.compile(r"[0-9]+\Z")
_OUTPUT_OBJECT = re.compile(r"([0-9]+)_[^/]+\Z")  # <idx>_<iso timestamp>.png


def _iteration(segment: str) -> int | None:
    match = _ITERATION.match(segment)
    return int(match.group(1)) if match else None


def _index(segment: str) -> int | None:
    return int(segment) if _NUMBER.match(segment) else None


def _match_annotations(rest: list[str]) -> tuple[Area, int | None, int | None] | None:
    if len(rest) >= 4 and rest[0] == "worker-response":
        # iteration-<N>/<idx>/<ts>.json, or for video frames iteration-<N>/<idx>/<hex>/<frame>.json
        iteration, index = _iteration(rest[1]), _index(rest[2])
        if iteration is not None and index is not None and len(rest) in (4, 5):
            return Area.WORKER_RESPONSE, iteration, index
        return None
    if len(rest) >= 3 and rest[0] == "consolidated-annotation":
        if rest[1] in ("consolidation-request", "consolidation-response") and len(rest) == 4:
            iteration = _iteration(rest[2])
            if iteration is None:
                return None
            area = Area.CONSOLIDATION_REQUEST if rest[1] == "consolidation-request" else Area.CONSOLIDATION_RESPONSE
            return area, iteration, None
        if rest[1] == "output":
            if len(rest) == 3 and (match := _OUTPUT_OBJECT.match(rest[2])):
                return Area.CONSOLIDATED_OUTPUT, None, int(match.group(1))
            if len(rest) == 4 and (index := _index(rest[2])) is not None:
                return Area.CONSOLIDATED_OUTPUT, None, index
        return None
    if len(rest) == 3 and rest[0] == "intermediate" and rest[2] == "annotations.json":
        iteration = _index(rest[1])
        return (Area.ANNOTATIONS_INTERMEDIATE, iteration, None) if iteration is not None else None
    return None


def _match_manifests(rest: list[str]) -> tuple[Area, int | None, int | None] | None:
    if len(rest) == 3 and rest[0] == "intermediate" and rest[2] == "output.manifest":
        iteration = _index(rest[1])
        return (Area.INTERMEDIATE_MANIFEST, iteration, None) if iteration is not None else None
    if rest == ["output", "output.manifest"]:
        return Area.FINAL_MANIFEST, None, None
    return None


def parse_output_key(key: str) -> OutputKey | None:
    """Locate the job folder and area of a decoded key; None when the key is not part of the layout.

    The job folder is found from the right, so a prefix or a job may itself be named `annotations`
    or `manifests`, and files a custom Lambda writes below an area do not confuse the parse.
    """
    segments = key.split("/")
    if not segments[-1]:
        return None  # a folder marker (`…/`), not a file of the layout
    for position in range(len(segments) - 2, 0, -1):
        marker = segments[position]
        if marker == "annotations":
            found = _match_annotations(segments[position + 1 :])
        elif marker == "manifests":
            found = _match_manifests(segments[position + 1 :])
        else:
            continue
        job_name = segments[position - 1]
        if found is None or not job_name:
            continue
        area, iteration, index = found
        prefix = "/".join(segments[: position - 1])
        return OutputKey(key, prefix, job_name, area, iteration, index)
    return None


def is_under_prefix(key: str, prefix: str) -> bool:
    """True when `key` lies under the configured prefix (`out` and `out/` are the same prefix)."""
    prefix = prefix.strip("/")
    return not prefix or key.startswith(prefix + "/")
