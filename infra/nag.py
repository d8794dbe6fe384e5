"""cdk-nag 3.x acknowledgments (the v3 replacement of NagSuppressions), each with its reason.

cdk-nag 3 runs as a CDK validation plugin: an unacknowledged error fails the synth. It reports wildcard
IAM findings one by one as `AwsSolutions-IAM5[Resource::<flattened ARN>]` and has no prefix matching,
so `wildcard_resource_finding` flattens an ARN token exactly the way cdk-nag does.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

PACK = "AwsSolutions"  # the validation plugin's name: CDK matches "<plugin>::<rule id>" acknowledgments
BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# Exactly what that managed policy allows (its resource is "*"), for the acknowledgments that cite it.
BASIC_EXECUTION_ALLOWS = (
    "AWSLambdaBasicExecutionRole allows logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents"
    " on any log group of the account, and nothing else"
)


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (`AwsSolutions-XXX` or `AwsSolutions-XXX[finding]`) on scope."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{rule}", reason=reason))


def _flatten(node: Any) -> str:
    """Port of cdk-nag's flattenCfnReference (utils/flatten-cfn-reference.ts)."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict) and "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return delimiter.join(_flatten(item) for item in items)
    if isinstance(node, dict) and "Fn::Sub" in node:
        return _flatten(node["Fn::Sub"])
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{_flatten(resource)}.{_flatten(attribute)}>"
    if isinstance(node, dict) and "Ref" in node:
        return f"<{_flatten(node['Ref'])}>"
    raise ValueError(f"cannot flatten {node!r}")


def wildcard_resource_finding(scope: IConstruct, arn: str) -> str:
    """The IAM5 finding id cdk-nag reports for the wildcard resource `arn` (a string or a token)."""
    return f"AwsSolutions-IAM5[Resource::{_flatten(Stack.of(scope).resolve(arn))}]"


def acknowledge_wildcards(
    scope: IConstruct, reason: str, *, resources: tuple[str, ...] = (), actions: tuple[str, ...] = ()
) -> None:
    for arn in resources:
        acknowledge(scope, wildcard_resource_finding(scope, arn), reason)
    for action in actions:
        acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", reason)
