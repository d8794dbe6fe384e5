"""Reading many objects of a job or prefix from S3 for the CLI: paginated listing, parallel GETs, and
one-line errors (a missing bucket, a missing key, a denied read) instead of botocore's tracebacks.

Shared by `validate s3://.../`, `consolidate s3://...` and `labels`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
from botocore.exceptions import BotoCoreError, ClientError

# S3 serves many GETs at once; botocore's default pool holds 10 connections, the client below 32.
MAX_WORKERS = 16
_MISSING_KEY = ("NoSuchKey", "404", "NotFound")
_DENIED = ("AccessDenied", "403", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch")


class SourceError(Exception):
    """An S3 read that failed; its message is one line naming the bucket or object."""


class S3Location(msgspec.Struct, frozen=True):
    bucket: str
    prefix: str  # "" for the whole bucket, else ends with "/" when it names a folder

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_location(uri: str, folder: bool = True) -> S3Location:
    """`s3://bucket/some/prefix` -> S3Location; with folder=True the prefix ends with "/"."""
    if not uri.startswith("s3://"):
        raise SourceError(f"not an s3:// URI: {uri}")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise SourceError(f"an s3:// URI needs a bucket: {uri}")
    if folder and prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Location(bucket, prefix)


def describe(error: Exception, bucket: str, key: str | None = None) -> str:
    """One line for a failed S3 call."""
    where = f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        if code == "NoSuchBucket":
            return f"{where}: the bucket {bucket} does not exist"
        if code in _MISSING_KEY:
            return f"{where} does not exist"
        if code in _DENIED:
            return f"{where}: access denied ({code}: {details.get('Message') or 'no permission to read it'})"
        return f"{where}: {code or 'error'}: {details.get('Message') or error}"
    if isinstance(error, BotoCoreError):
        return f"{where}: {error}"
    return f"{where}: {error}"


class S3Source:
    """Lists and reads objects; every failure becomes a SourceError with a one-line message."""

    def __init__(self, s3_client: Any | None = None, workers: int = MAX_WORKERS) -> None:
        self._client = s3_client
        self.workers = workers

    @property
    def s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Its own client: the shared one's pool (10 connections) would make the parallel GETs wait.
            config = Config(
                retries={"mode": "standard", "max_attempts": 5},
                connect_timeout=5,
                read_timeout=60,
                max_pool_connections=2 * MAX_WORKERS,
            )
            self._client = boto3.session.Session().client("s3", config=config)
        return self._client

    def list(self, location: S3Location, delimiter: str | None = None) -> list[tuple[str, int]]:
        """(key, size) of every object under the prefix, in key order; with delimiter="/" only those
        directly under it (not in sub-folders)."""
        kwargs: dict[str, Any] = {"Bucket": location.bucket, "Prefix": location.prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(**kwargs)
            found = [(item["Key"], int(item.get("Size", 0))) for page in pages for item in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as error:
            raise SourceError(describe(error, location.bucket, location.prefix or None)) from None
        return sorted(found)

    def read(self, bucket: str, key: str, max_bytes: int | None = None) -> bytes:
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key)
            size = int(response.get("ContentLength") or 0)
            if max_bytes is not None and size > max_bytes:
                response["Body"].close()
                raise SourceError(f"s3://{bucket}/{key}: {size} bytes, over the limit of {max_bytes}")
            data = bytearray()
            for chunk in response["Body"].iter_chunks(1024 * 1024):  # never iter_lines: quadratic on long lines
                data += chunk
            return bytes(data)
        except (ClientError, BotoCoreError) as error:
            raise SourceError(describe(error, bucket, key)) from None

    def read_many(
        self,
        bucket: str,
        keys: Iterable[str],
        max_bytes: int | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[str, bytes | SourceError]]:
        """(key, body or the error) for each key, in the order given, read in parallel. At most
        2 x workers bodies are held at once, so memory stays bounded on a large job."""

        def get(key: str) -> tuple[str, bytes | SourceError]:
            try:
                return key, self.read(bucket, key, max_bytes)
            except SourceError as error:
                return key, error

        return self.map(get, keys, on_done)

    def map(
        self,
        work: Callable[[str], Any],
        items: Iterable[str],
        on_done: Callable[[int], None] | None = None,
    ) -> Iterator[Any]:
        """work(item) for each item, in parallel, results in the order of the items."""
        pending = list(items)
        window = 2 * self.workers
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(work, item) for item in pending[:window]]
            position = len(futures)
            while futures:
                result = futures.pop(0).result()
                if position < len(pending):
                    futures.append(pool.submit(work, pending[position]))
                    position += 1
                if on_done is not None:
                    on_done(1)
                yield result
