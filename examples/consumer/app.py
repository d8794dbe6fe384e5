#!/usr/bin/env python3
"""`cdk synth` / `cdk deploy` of the example consumer (run from examples/consumer/)."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks
from gtproc_consumer.stack import ConsumerStack


def build_app(context: dict | None = None, outdir: str | None = None) -> App:
    app = App(context=context, outdir=outdir)
    ConsumerStack(
        app,
        app.node.try_get_context("stackName") or "GtprocConsumer",
        event_bus_name=app.node.try_get_context("eventBusName") or "gtproc",
        event_source=app.node.try_get_context("eventSource") or "gtproc",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app


if __name__ == "__main__":
    build_app().synth()
