"""The cdk.json context: its defaults are the model's, `-c` strings parse, bad values fail the synth early."""

from __future__ import annotations

import json

import pytest
from aws_cdk import RemovalPolicy

from infra.app import cdk_json_context
from infra.config import ConfigError, GtprocConfig

pytestmark = pytest.mark.infra


def test_cdk_json_spells_out_every_key_with_the_models_default():
    context = cdk_json_context()
    assert set(GtprocConfig.context_keys()) <= set(context)
    assert GtprocConfig.from_mapping(context) == GtprocConfig()


def test_cli_strings_are_parsed():
    config = GtprocConfig.from_mapping(
        {"postAnnotationLambda": "true", "manifestsMemoryMb": "2048", "keyPrefix": "/a/b/", "alarmEmail": ""}
    )
    assert config.post_annotation_lambda is True
    assert config.manifests_memory_mb == 2048
    assert config.key_prefix == "a/b"
    assert config.alarm_email is None


def test_removal_policy():
    assert GtprocConfig().removal == RemovalPolicy.RETAIN
    assert GtprocConfig.from_mapping({"removalPolicy": "destroy"}).removal == RemovalPolicy.DESTROY


@pytest.mark.parametrize(
    "context",
    [
        {"eventSource": "aws.s3"},
        {"manifestsMemoryMb": 64},
        {"maxConcurrency": 1},  # SQS event sources take 2 to 1000
        {"maxConcurrency": 1001},
        {"outputBucketName": "Not_A_Bucket"},
        {"removalPolicy": "delete"},
        {"alarmEmail": "nobody"},
        {"stackName": "x" * 41},
        {"postAnnotationLambda": "maybe"},
        {"leaseSeconds": 300},  # shorter than the function timeout plus the wait for a lease
    ],
)
def test_invalid_values_are_rejected(context):
    with pytest.raises(ConfigError, match=next(iter(context))):  # the message names the cdk.json key
        GtprocConfig.from_mapping(context)


def test_a_misspelt_context_key_fails_the_synth_naming_the_nearest_key() -> None:
    from infra.app import build_app
    from infra.config import ConfigError

    with pytest.raises(ConfigError, match=r"'outputBucket'.*did you mean outputBucketName\?"):
        build_app({"outputBucket": "my-groundtruth-output"})


def test_a_misspelt_key_from_the_cdk_cli_fails_too(monkeypatch) -> None:
    from infra.app import build_app
    from infra.config import ConfigError

    monkeypatch.setenv("CDK_CONTEXT_JSON", json.dumps({"keyprefix": "gt", "aws:cdk:enable-path-metadata": True}))
    with pytest.raises(ConfigError, match=r"'keyprefix'.*did you mean keyPrefix\?"):
        build_app()
