"""The moto server of tests/cli, for the commands that read S3 (labels, validate of s3:// URIs)."""

from tests.cli.conftest import moto_server

__all__ = ["moto_server"]
