"""docs/operations.md names every alarm the stack creates, by the id it has in the template."""

from __future__ import annotations

import re
from pathlib import Path

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_alarm_is_documented(imported_synth):
    alarms = imported_synth.of_type("AWS::CloudWatch::Alarm")
    # Logical ids are the construct path: "Alarms" + the alarm's id + CDK's 8-character hash.
    names = {re.fullmatch(r"Alarms(\w+?)[0-9A-F]{8}", logical_id).group(1) for logical_id in alarms}
    assert {"ManifestsDeadLetters", "AnnotationsQueueAge", "PostAnnotationErrors", "InvalidAnnotationFiles"} <= names
    table = OPERATIONS.read_text(encoding="utf-8").split("## Alarms", 1)[1].split("\n## ", 1)[0]
    documented = {name for row in re.findall(r"^\| (`.+?`) \|", table, re.M) for name in re.findall(r"`(\w+)`", row)}
    assert documented == names
