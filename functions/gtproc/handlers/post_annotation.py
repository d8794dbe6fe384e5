"""Lambda handler: Ground Truth's annotation-consolidation (post-annotation) Lambda of a custom workflow.

Wire it into CreateLabelingJob as HumanTaskConfig.AnnotationConsolidationConfig.
AnnotationConsolidationLambdaArn (see docs/deploying.md).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtproc.contract.layout import SERVICE_NAME
from gtproc.handlers import wiring
from gtproc.handlers.coldstart import releases_collector

logger = Logger(service=SERVICE_NAME)  # as the stack sets POWERTOOLS_SERVICE_NAME, even if imported first
tracer = Tracer(patch_modules=wiring.TRACED_MODULES)


@releases_collector
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> list[dict[str, Any]]:
    logger.append_keys(labelingJobArn=event.get("labelingJobArn"), request=(event.get("payload") or {}).get("s3Uri"))
    result = wiring.post_annotation()(event)
    for object_id, reason in result.failures:
        logger.warning("object not consolidated", extra={"datasetObjectId": object_id, "reason": reason})
    for message, answers in (("answer not used", result.unused), ("shapes not used", result.unused_shapes)):
        for answer in answers:
            where = {"datasetObjectId": answer.dataset_object_id, "workerId": answer.worker_id, "reason": answer.reason}
            logger.warning(message, extra=where)
    logger.info(
        "consolidated",
        extra={"objects": len(result.response), "failed": len(result.failures), "method": result.method},
    )
    return result.response
