"""Reading and writing S3 objects in chunks (botocore's iter_lines is quadratic on long lines)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from gtproc.adapters.aws import client
from gtproc.domain.keys import parse_s3_uri
from gtproc.usecases.ports import ObjectMissing, ObjectTooLarge, ObjectUnreadable

CHUNK_BYTES = 1024 * 1024
# S3's 403s: no permission (or, without s3:ListBucket, a missing key), a KMS key the role may not use,
# an object archived in Glacier. Retrying changes none of them.
UNREADABLE_CODES = (
    "AccessDenied",
    "403",
    "Forbidden",
    "AllAccessDisabled",
    "InvalidObjectState",
    "KMS.AccessDeniedException",
)
__all__ = ["ObjectMissing", "ObjectUnreadable", "S3Objects", "parse_s3_uri"]


class S3Objects:
    """The object store port, on S3."""

    def __init__(self, s3_client: Any | None = None) -> None:
        self._client = s3_client

    @property
    def s3(self) -> Any:
        if self._client is None:
            self._client = client("s3")
        return self._client

    def open_chunks(self, bucket: str, key: str, chunk_bytes: int = CHUNK_BYTES) -> tuple[int, Iterator[bytes]]:
        """(size, chunks) of the object; raises ObjectMissing when it does not exist."""
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectMissing(f"s3://{bucket}/{key} does not exist") from error
            if code in UNREADABLE_CODES:
                raise ObjectUnreadable(f"s3://{bucket}/{key}: the function's role cannot read it ({code})") from error
            raise
        body = response["Body"]
        return int(response.get("ContentLength") or 0), body.iter_chunks(chunk_bytes)

    def read_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        """The object reader port of the manifests pipeline."""
        return self.open_chunks(bucket, key)[1]

    def read(self, bucket: str, key: str, max_bytes: int | None = None) -> bytes:
        size, chunks = self.open_chunks(bucket, key)
        if max_bytes is not None and size > max_bytes:
            raise ObjectTooLarge(f"s3://{bucket}/{key} is {size} bytes, over the limit of {max_bytes}")
        data = bytearray()
        for chunk in chunks:  # counted as it streams: a length header that lies cannot make us read more
            data += chunk
            if max_bytes is not None and len(data) > max_bytes:
                raise ObjectTooLarge(f"s3://{bucket}/{key} is over the limit of {max_bytes} bytes")
        return bytes(data)

    def list_keys(self, bucket: str, prefix: str, *, direct: bool = False) -> list[str]:
        """Keys under `prefix`; with `direct`, only those with no further "/" (S3's delimiter listing)."""
        options = {"Delimiter": "/"} if direct else {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **options)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def write(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
