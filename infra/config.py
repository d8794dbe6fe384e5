"""The stack's configuration: read from the CDK context (cdk.json, `-c key=value`), validated here only.

Every key is documented in docs/deploying.md (Configuration); the defaults below are the ones cdk.json spells out.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_cdk import RemovalPolicy
from constructs import Node
from gtproc.contract import DEFAULT_EVENT_SOURCE
from gtproc.contract.layout import FUNCTION_TIMEOUT_SECONDS, MANIFESTS_MEMORY_MB
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

_BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_BUS_NAME = r"^[A-Za-z0-9._-]{1,256}$"


class ConfigError(ValueError):
    """The CDK context holds an invalid gtproc setting."""


class GtprocConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    # At most 40 characters: the post-annotation function is named "<stackName>-SageMaker-PostAnnotation".
    stack_name: str = Field(default="Gtproc", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,39}$")
    output_bucket_name: str | None = Field(default=None, pattern=_BUCKET_NAME)
    key_prefix: str = ""
    event_bus_name: str | None = Field(default=None, pattern=_BUS_NAME)
    event_source: str = Field(default=DEFAULT_EVENT_SOURCE, min_length=1, max_length=256)
    archive_retention_days: int = Field(default=30, ge=0)
    post_annotation_lambda: bool = False
    manifests_memory_mb: int = Field(default=MANIFESTS_MEMORY_MB, ge=128, le=10240)
    # Per pipeline: the most concurrent invocations its SQS event source starts (SQS allows 2 to 1000).
    max_concurrency: int = Field(default=10, ge=2, le=1000)
    # Only for runs without a deadline; a Lambda run's lease ends at its deadline (+10 s).
    lease_seconds: int = Field(default=900, ge=FUNCTION_TIMEOUT_SECONDS + 60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    removal_policy: Literal["retain", "destroy"] = "retain"

    @field_validator("output_bucket_name", "event_bus_name", "alarm_email", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("key_prefix")
    @classmethod
    def _normalize_prefix(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("event_source")
    @classmethod
    def _not_aws(cls, value: str) -> str:
        if value.startswith("aws."):
            raise ValueError("sources starting with 'aws.' are reserved for AWS services")
        return value

    @property
    def removal(self) -> RemovalPolicy:
        return RemovalPolicy.DESTROY if self.removal_policy == "destroy" else RemovalPolicy.RETAIN

    @classmethod
    def context_keys(cls) -> list[str]:
        return [field.alias or name for name, field in cls.model_fields.items()]

    @classmethod
    def from_mapping(cls, context: dict[str, Any]) -> GtprocConfig:
        values = {key: context[key] for key in cls.context_keys() if context.get(key) is not None}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigError(f"invalid gtproc context (cdk.json or -c):\n{error}") from None

    @classmethod
    def check_keys(cls, keys: Any) -> None:
        """A misspelt `-c` key would otherwise be ignored silently: fail naming it and the nearest known one.
        Keys with `:` or `@` are CDK's own (feature flags, `aws:cdk:*`)."""
        import difflib

        known = cls.context_keys()
        for key in sorted(keys):
            if key in known or ":" in key or key.startswith("@"):
                continue
            nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f"; did you mean {nearest[0]}?" if nearest else f"; known keys: {', '.join(known)}"
            raise ConfigError(f"unknown gtproc context key {key!r} (cdk.json or -c){hint}")

    @classmethod
    def from_context(cls, node: Node) -> GtprocConfig:
        return cls.from_mapping({key: node.try_get_context(key) for key in cls.context_keys()})
