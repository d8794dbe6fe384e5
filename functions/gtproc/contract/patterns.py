"""S3 key patterns of the Ground Truth output layout and the EventBridge rules built from them."""

from __future__ import annotations

from typing import Any

# EventBridge wildcard syntax: `*` matches any run of characters, `/` included.
MANIFEST_KEY_PATTERNS: tuple[str, ...] = (
    "*/manifests/intermediate/*/output.manifest",
    "*/manifests/output/output.manifest",
)
ANNOTATION_KEY_PATTERNS: tuple[str, ...] = (
    "*/annotations/worker-response/*",
    "*/annotations/consolidated-annotation/consolidation-response/*",
)


def prefixed_key_patterns(patterns: tuple[str, ...], prefix: str = "") -> list[str]:
    """Anchor the patterns under an optional key prefix (`out` or `out/` both mean `out/...`)."""
    prefix = prefix.strip("/")
    if not prefix:
        return list(patterns)
    return [f"{prefix}/{pattern}" for pattern in patterns]


def object_created_pattern(bucket_name: str, patterns: tuple[str, ...], prefix: str = "") -> dict[str, Any]:
    """The EventBridge event pattern for S3 "Object Created" events of `bucket_name` whose key matches."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [bucket_name]},
            "object": {"key": [{"wildcard": p} for p in prefixed_key_patterns(patterns, prefix)]},
        },
    }
