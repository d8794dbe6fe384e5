"""The READMEs of events/, rendered from the templates next to this module."""

from __future__ import annotations

from pathlib import Path
from string import Template

from .core import ACCOUNT, BUCKET, QUEUE_ARN, REGION, SPECIAL_PREFIX, SQS_SENDER_EVENTBRIDGE, SQS_SENDER_S3, Tree, cj

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render(template: str, **values: object) -> str:
    """A template of templates/ with its ${name}s filled in. A name left out raises (KeyError), and so
    does a value the template no longer uses, so template and code cannot drift apart silently."""
    text = Template((TEMPLATES / template).read_text(encoding="utf-8"))
    names = {match["braced"] or match["named"] for match in Template.pattern.finditer(text.template)} - {None}
    if unused := sorted(set(values) - names):
        raise KeyError(f"{template} does not use {unused}")
    return text.substitute(values)


def md_counts_table(manifests: list[dict]) -> str:
    cols = ["lines", "objects", "labeled", "humanLabeled", "autoLabeled", "failed", "unlabeled", "invalidLines"]
    out = ["| key (file) | " + " | ".join(cols) + " | classCounts |", "|---" * (len(cols) + 2) + "|"]
    for m in manifests:
        name = f"`{m['key']}`" + (f" ({m['version']})" if m.get("version") else "")
        cc = ", ".join(f"{k} {v}" for k, v in m["classCounts"].items()) or "-"
        out.append(f"| {name} | " + " | ".join(str(m[c]) for c in cols) + f" | {cc} |")
    return "\n".join(out)


def jobs_readme(exp: dict[str, dict], plans: dict[str, Tree]) -> str:
    a, b, c, d = (
        exp[k] for k in ("bbox-three-iterations", "classification-failed-auto", "adjustment-chained", "bad-input")
    )
    plan_a = "\n".join(
        f"- write {k + 1:2d}: `{w.key}`" + (" (file `" + w.file + "`)" if "rewrites" in w.file else "")
        for k, w in enumerate(plans["bbox-three-iterations"].writes)
        if w.key.endswith(".manifest")
    )
    lt = "\n".join(
        f"| {r['line']} | {r['ending']} | {r['content']} | {r['expected']} |" for r in d["manifests"][0]["lineTable"]
    )
    fr = "\n".join(f"  - line index {k}: `{v}`" for k, v in b["failureReasons"].items())
    adjs = "\n".join(f"- line index {k}: {v}" for k, v in c["adjustments"].items())
    return render(
        "jobs.md",
        bucket=BUCKET,
        region=REGION,
        account=ACCOUNT,
        a_job=a["jobName"],
        a_categories=", ".join(a["labelCategories"]),
        a_lines=a["manifests"][0]["lines"],
        a_iteration_1=a["iterations"]["1"],
        a_iteration_2=a["iterations"]["2"],
        a_iteration_3=a["iterations"]["3"],
        a_zero_boxes=a["specialObjects"]["zeroBoxes"],
        a_missed_box=a["specialObjects"]["oneWorkerMissedABox"],
        a_mislabeled_box=a["specialObjects"]["oneWorkerMislabeledABox"],
        a_counts=md_counts_table(a["manifests"]),
        a_plan_writes=a["planWrites"],
        a_plan=plan_a,
        b_job=b["jobName"],
        b_categories=", ".join(f"{k} {v}" for k, v in enumerate(b["labelCategories"])),
        b_lines=b["manifests"][0]["lines"],
        b_iteration_1=b["iterations"]["1"],
        b_iteration_2=b["iterations"]["2"],
        b_failed_by_workers=b["sentToHumansButFailed"],
        b_auto_labeled=b["autoLabeled"],
        b_iteration_3=b["iterations"]["3"],
        b_spammer=b["workers"]["spammer"],
        b_vote_kinds=", ".join(f"{k}: {v}" for k, v in b["voteKinds"].items()),
        b_failure_reasons=fr,
        b_counts=md_counts_table(b["manifests"]),
        c_job=c["jobName"],
        c_base_job=c["chainedOn"]["jobName"],
        c_base_attribute=c["chainedOn"]["labelAttributeName"],
        c_base_metadata_job=c["chainedOn"]["metadataJobName"],
        c_attribute=c["labelAttributeName"],
        c_metadata_job=c["metadataJobName"],
        c_categories=", ".join(c["labelCategories"]),
        c_adjusted=c["final"]["adjusted"],
        c_adjustments=adjs,
        c_unadjusted=c["final"]["unadjusted"],
        c_unadjusted_ids=c["unadjustedIds"],
        c_counts=md_counts_table(c["manifests"]),
        c_class_counts_by_attribute=cj(c["final"]["classCountsByAttribute"]),
        d_job=d["jobName"],
        d_bytes=d["manifests"][0]["bytes"],
        d_line_table=lt,
        d_objects=d["manifests"][0]["objects"],
        d_invalid_lines=d["manifests"][0]["invalidLines"],
    )


def triggers_readme(catalog: list[dict]) -> str:
    rows = []
    for c in catalog:
        objs = (
            "<br>".join(
                f"sent `{s}`" + (f"<br>decoded `{k}`" if s != k else "") + (f"<br>file `jobs/{f}`" if f else "")
                for s, k, f in c["objects"]
            )
            or "-"
        )
        rows.append(f"| `{c['file']}` | {c['what']} | {objs} |")
    table = "\n".join(rows)
    return render(
        "triggers.md",
        bucket=BUCKET,
        region=REGION,
        account=ACCOUNT,
        queue_arn=QUEUE_ARN,
        sender_eventbridge=SQS_SENDER_EVENTBRIDGE,
        sender_s3=SQS_SENDER_S3,
        special_prefix=SPECIAL_PREFIX,
        table=table,
    )


def top_readme() -> str:
    return render("events.md")
