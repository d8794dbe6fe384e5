"""Scenario d: malformed manifest lines and a 0-byte manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .boxes import bbox_label
from .core import BUCKET, INPUT_BUCKET, Tree, cj, dt


def build(jobs: Path) -> tuple[Tree, dict]:
    job = lan = "broken-job"
    tree = Tree(jobs, "bad-input")
    img = f"s3://{INPUT_BUCKET}/broken/img_%03d.jpg"
    jn = f"labeling-job/{job}"

    def labeled(i: int, anns: list[dict], cmap: dict, cd: str, *, with_type: bool = True, src: bool = True) -> dict:
        meta: dict[str, Any] = {"objects": [{"confidence": 0.87} for _ in anns], "class-map": cmap}
        if with_type:
            meta["type"] = "groundtruth/object-detection"
        meta.update({"human-annotated": "yes", "creation-date": cd, "job-name": jn})
        line: dict[str, Any] = {"source-ref": img % i} if src else {"image-id": f"img_{i:03d}"}
        line[lan] = bbox_label(1280, 720, anns)
        line[f"{lan}-metadata"] = meta
        return line

    car = {"class_id": 0, "top": 210, "left": 344, "height": 180, "width": 260}
    truck = {"class_id": 1, "top": 120, "left": 700, "height": 300, "width": 410}
    rows: list[tuple[str, str, str, str | None]] = []  # (text, ending, what, problem)
    rows.append(
        (cj(labeled(1, [car], {"0": "car"}, "2024-06-03T11:02:17.482113")), "\n", "valid labeled line (1 car)", None)
    )
    rows.append((cj({"source-ref": img % 2}), "\r\n", "valid unlabeled line, CRLF ending", None))
    full = cj(labeled(3, [car], {"0": "car"}, "2024-06-03T11:02:19.104377"))
    rows.append((full[:97], "\n", "truncated JSON (line cut mid-object)", "invalid_json"))
    rows.append(("[1,2]", "\n", "JSON array, not an object", "not_an_object"))
    rows.append(
        (
            cj(labeled(5, [car], {"0": "car"}, "2024-06-03T11:02:23.630001", src=False)),
            "\n",
            "labeled line without source or source-ref (has only image-id)",
            "missing_source",
        )
    )
    rows.append(
        (
            cj(labeled(6, [car], {"0": "car"}, "2024-06-03T11:02:25.009918", with_type=False)),
            "\r\n",
            "`broken-job-metadata` has no `type`; CRLF ending",
            "metadata_missing_type",
        )
    )
    neg = dict(car, width=-42)
    rows.append(
        (
            cj(labeled(7, [neg], {"0": "car"}, "2024-06-03T11:02:27.551260")),
            "\n",
            "bounding box with negative width (-42)",
            "negative_box_size",
        )
    )
    stray = dict(truck, class_id=7)
    rows.append(
        (
            cj(labeled(8, [car, stray], {"0": "car"}, "2024-06-03T11:02:29.318840")),
            "\n",
            'annotation class_id 7 is not in class-map {"0":"car"}',
            "class_id_not_in_class_map",
        )
    )
    rows.append(("", "\n", "blank line", "blank"))
    rows.append(
        (
            cj(labeled(10, [car, truck], {"0": "car", "1": "truck"}, "2024-06-03T11:02:33.870652")),
            "\r\n",
            "valid labeled line (1 car, 1 truck), CRLF ending",
            None,
        )
    )
    rows.append(
        (
            cj(
                {
                    "source-ref": img % 11,
                    f"{lan}-metadata": {
                        "failure-reason": "ClientError: Annotation tasks expired",
                        "job-name": jn,
                        "creation-date": "2024-06-03T11:40:00.120398",
                        "type": "groundtruth/object-detection",
                    },
                }
            ),
            "\n",
            "valid failed line (failure-reason, no label)",
            None,
        )
    )
    rows.append(
        (
            cj(labeled(12, [truck], {"1": "truck"}, "2024-06-03T11:02:37.211937")),
            "\n",
            "valid labeled line (1 truck)",
            None,
        )
    )
    data = "".join(text + end for text, end, _, _ in rows).encode("utf-8")
    key1 = f"{job}/manifests/intermediate/1/output.manifest"
    key2 = f"{job}/manifests/intermediate/2/output.manifest"
    tree.put(key1, data, dt("2024-06-03T11:41:12"))
    tree.put(key2, b"", dt("2024-06-03T12:05:40"))
    tree.flush()

    line_table = [
        {"line": k + 1, "ending": "CRLF" if end == "\r\n" else "LF", "content": what, "expected": problem or "valid"}
        for k, (_, end, what, problem) in enumerate(rows)
    ]
    valid = [k + 1 for k, r in enumerate(rows) if r[3] is None]
    invalid = [k + 1 for k, r in enumerate(rows) if r[3] not in (None, "blank")]
    expected = {
        "tree": "bad-input",
        "bucket": BUCKET,
        "jobName": job,
        "labelAttributeName": lan,
        "metadataJobName": jn,
        "taskType": "groundtruth/object-detection",
        "plan": "bad-input.plan.jsonl",
        "problemCodes": "suggested names; the implementation may use its own codes",
        "manifests": [
            {
                "key": key1,
                "file": f"bad-input/{key1}",
                "iteration": 1,
                "bytes": len(data),
                "lines": len(rows),
                "blankLines": 1,
                "invalidLines": len(invalid),
                "objects": len(valid),
                "labeled": 3,
                "humanLabeled": 3,
                "autoLabeled": 0,
                "failed": 1,
                "unlabeled": 1,
                "classCounts": {"car": 2, "truck": 2},
                "boxes": 4,
                "validLines": valid,
                "invalidLineNumbers": invalid,
                "blankLineNumbers": [9],
                "crlfLines": [r["line"] for r in line_table if r["ending"] == "CRLF"],
                "lineTable": line_table,
            },
            {
                "key": key2,
                "file": f"bad-input/{key2}",
                "iteration": 2,
                "bytes": 0,
                "lines": 0,
                "blankLines": 0,
                "invalidLines": 0,
                "objects": 0,
                "labeled": 0,
                "humanLabeled": 0,
                "autoLabeled": 0,
                "failed": 0,
                "unlabeled": 0,
                "classCounts": {},
                "boxes": 0,
            },
        ],
        "planWrites": len(tree.writes),
    }
    return tree, expected
