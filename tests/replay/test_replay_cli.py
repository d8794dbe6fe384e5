"""`gtproc replay` end to end on the embedded AWS: exit codes, events-out, and the same facts under chaos."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from gtproc.cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[2] / "events" / "jobs"
# The streaming job's plan has its own tests (test_replay_streaming.py): no final manifest, other channels.
PLANS = sorted(p for p in JOBS.glob("*.plan.jsonl") if not p.name.startswith("streaming-"))
PLAN_IDS = [p.name.removesuffix(".plan.jsonl") for p in PLANS]
COUNT_FIELDS = ["objects", "labeled", "failed", "unlabeled", "humanLabeled", "autoLabeled", "invalidLines"]


MANIFEST_FACTS = ("Objects Labeled", "Objects Failed", "Validation Failed", "Labeling Job Completed")


def manifest_facts(run) -> Counter:
    """The facts of the manifests pipeline (the replay also runs the annotations pipeline)."""
    return Counter({fact: n for fact, n in run.facts().items() if fact[0] in MANIFEST_FACTS})


def expected(plan: Path) -> dict:
    return json.loads((JOBS / plan.name.replace(".plan.jsonl", ".expected.json")).read_text(encoding="utf-8"))


def test_there_are_sample_plans() -> None:
    assert len(PLANS) == 4


@pytest.mark.parametrize("plan", PLANS, ids=PLAN_IDS)
def test_plan_replays_with_exit_0_and_events_out_lines(replayed, plan: Path) -> None:
    run = replayed(plan)

    assert run.exit_code == 0
    assert run.lines
    for line in run.lines:
        assert set(line) == {"source", "detail-type", "detail"}
        assert line["source"] == "gtproc"
        assert isinstance(line["detail"], dict) and line["detail"]["jobName"] == expected(plan)["jobName"]


@pytest.mark.parametrize("plan", PLANS, ids=PLAN_IDS)
def test_plan_publishes_the_expected_objects_once(replayed, plan: Path) -> None:
    run = replayed(plan)
    facts = run.facts()
    assert max(facts.values()) == 1
    spec = expected(plan)
    job, attribute = spec["jobName"], spec["labelAttributeName"]
    by_type: dict[str, set[str]] = {}
    for fact in facts:
        if fact[0] in ("Objects Labeled", "Objects Failed"):
            assert fact[1:3] == (job, attribute)
            by_type.setdefault(fact[0], set()).add(fact[3])
    if "final" in spec:
        ids = {i for m in spec["manifests"] for i in m["labeledIds"]}
        assert by_type["Objects Labeled"] == {str(i) for i in ids}
        failed = {i for m in spec["manifests"] for i in m["failedIds"]}
        assert by_type.get("Objects Failed", set()) == {str(i) for i in failed}
    else:  # bad-input: no final manifest, no completion
        manifest = spec["manifests"][0]
        assert len(by_type["Objects Labeled"]) == manifest["labeled"]
        assert len(by_type["Objects Failed"]) == manifest["failed"]
        invalid = sorted(f[2] for f in facts if f[0] == "Validation Failed")
        assert invalid == manifest["invalidLineNumbers"]


@pytest.mark.parametrize("plan", [p for p in PLANS if "bad-input" not in p.name], ids=lambda p: p.name.split(".")[0])
def test_completion_counts_equal_the_expected_file(replayed, plan: Path) -> None:
    run = replayed(plan)
    completed = [line["detail"] for line in run.lines if line["detail-type"] == "Labeling Job Completed"]
    assert len(completed) == 1
    final = expected(plan)["final"]
    assert {f: completed[0][f] for f in COUNT_FIELDS} == {f: final[f] for f in COUNT_FIELDS}
    assert completed[0]["classCounts"] == final["classCounts"]
    assert completed[0]["labelAttributeNames"] == [expected(plan)["labelAttributeName"]]
    assert completed[0]["manifestUri"] == f"s3://gt-output-bucket/{final['key']}"


def test_bad_input_has_no_completion(replayed) -> None:
    run = replayed(JOBS / "bad-input.plan.jsonl")
    assert [line for line in run.lines if line["detail-type"] == "Labeling Job Completed"] == []


def test_a_folder_replays_to_the_same_facts_as_its_plan(replayed) -> None:
    folder = replayed(JOBS / "bbox-three-iterations")
    plan = replayed(JOBS / "bbox-three-iterations.plan.jsonl")

    assert folder.exit_code == 0
    assert manifest_facts(folder) == manifest_facts(plan)
    assert sum(manifest_facts(folder).values()) == 31  # 30 objects and the completion
    assert max(folder.facts().values()) == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("plan", PLANS, ids=PLAN_IDS)
def test_chaos_publishes_exactly_the_facts_of_the_plain_run(replayed, plan: Path, seed: int) -> None:
    plain, chaos = replayed(plan), replayed(plan, chaos=seed)

    assert chaos.exit_code == 0
    assert max(chaos.facts().values()) == 1, "a fact was published twice"
    assert max(plain.facts().values()) == 1
    assert manifest_facts(chaos) == manifest_facts(plain)


@settings(max_examples=3, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=4, max_value=2**31 - 1), plan=st.sampled_from(["adjustment-chained", "bad-input"]))
def test_chaos_with_drawn_seeds(replayed, seed: int, plan: str) -> None:
    """The two trees without annotation files (the others take seconds a run)."""
    path = JOBS / f"{plan}.plan.jsonl"
    plain, chaos = replayed(path), replayed(path, chaos=seed)
    assert chaos.exit_code == 0
    assert manifest_facts(chaos) == manifest_facts(plain)
    assert max(chaos.facts().values()) == 1


# ---- bad input to the command ---------------------------------------------------------------------------------


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_missing_plan_file_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nowhere.plan.jsonl"
    code = main(["replay", str(missing), "--quiet"])
    message = one_line(capsys.readouterr().err)

    assert code == 2
    assert str(missing) in message and "no such file" in message


def test_bad_json_line_exits_2_naming_file_and_line(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "bad.plan.jsonl"
    good = json.dumps({"key": "job/manifests/output/output.manifest", "file": "m.manifest"})
    (tmp_path / "m.manifest").write_text("")
    plan.write_text(f"{good}\n\n{{not json\n{good}\n", encoding="utf-8")
    code = main(["replay", str(plan), "--quiet", "--events-out", str(tmp_path / "out.jsonl")])
    message = one_line(capsys.readouterr().err)

    assert code == 2
    assert f"{plan}:3:" in message
    assert not (tmp_path / "out.jsonl").exists()  # nothing was replayed


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"key": "a/manifests/output/output.manifest"}', '"key" and "file"'),
        ('["a", "b"]', '"key" and "file"'),
        ('{"key": "", "file": "m.manifest"}', "non-empty"),
        ('{"key": "a/manifests/output/output.manifest", "file": "missing.manifest"}', "missing.manifest"),
    ],
)
def test_bad_plan_steps_exit_2_naming_the_line(tmp_path: Path, capsys, content: str, fragment: str) -> None:
    (tmp_path / "m.manifest").write_text("")
    plan = tmp_path / "p.plan.jsonl"
    plan.write_text(content + "\n", encoding="utf-8")
    code = main(["replay", str(plan), "--quiet"])
    message = one_line(capsys.readouterr().err)

    assert code == 2
    assert message.startswith(f"gtproc replay: {plan}:1:") and fragment in message


def test_an_empty_plan_exits_2(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "empty.plan.jsonl"
    plan.write_text("\n\n", encoding="utf-8")
    assert main(["replay", str(plan), "--quiet"]) == 2
    assert str(plan) in one_line(capsys.readouterr().err)


def test_the_account_shows_each_manifest_write_and_what_it_published(capsys) -> None:
    from gtproc.cli.main import main as gtproc_main

    plan = Path(__file__).resolve().parents[2] / "events" / "jobs" / "bbox-three-iterations.plan.jsonl"
    assert gtproc_main(["replay", str(plan)]) == 0
    out = capsys.readouterr().out.splitlines()
    rewrite = out.index("write cars-bbox/manifests/intermediate/2/output.manifest (rewrite)")
    assert out[rewrite + 1].strip().startswith("nothing new")  # iteration 3 already published everything
    final = out.index("write cars-bbox/manifests/output/output.manifest")
    assert out[final + 1].strip().startswith("Labeling Job Completed")
    assert sum(line.strip().startswith("Objects Labeled") and "(iteration" in line for line in out) == 3
