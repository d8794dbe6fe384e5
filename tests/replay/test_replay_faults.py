"""`gtproc replay --faults SEED` on the bundled jobs: under seeded AWS faults (failed calls, partial
PutEvents, killed runs, redelivery after the visibility timeout on a simulated clock, a redrive of the
DLQs at the end) the facts published are the plain run's, each once, except within the printed window."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from tests.replay.conftest import Run, replay

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[2] / "events" / "jobs"
PLANS = sorted(JOBS.glob("*.plan.jsonl"))
PLAN_IDS = [p.name.removesuffix(".plan.jsonl") for p in PLANS]
SEEDS = [1, 2]


def faulty_replay(path: Path, tmp: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[Run, str]:
    capsys.readouterr()
    run = replay(path, tmp / "events.jsonl", *extra)
    return run, capsys.readouterr().out


def window(summary: str) -> int:
    found = re.search(r"facts published in the documented window[^:]*: (\d+)", summary)
    assert found, summary
    return int(found.group(1))


def repeats(run: Run) -> int:
    return sum(n - 1 for n in run.facts().values())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("plan", PLANS, ids=PLAN_IDS)
def test_faults_publish_the_plain_runs_facts_once_except_the_window(replayed, plan, seed, tmp_path, capsys) -> None:
    plain = replayed(plan)
    run, summary = faulty_replay(plan, tmp_path, capsys, "--faults", str(seed))

    assert run.exit_code == 0, summary
    assert set(run.facts()) == set(plain.facts()), f"lost {set(plain.facts()) - set(run.facts())}"
    assert repeats(run) <= window(summary), summary
    injected = re.search(rf"faults seed {seed}: (\d+) injected \((.*)\)", summary)
    assert injected and int(injected.group(1)) > 0, summary


def test_the_faults_include_kills_partial_put_events_and_errors(replayed, tmp_path, capsys) -> None:
    plan = JOBS / "bbox-three-iterations.plan.jsonl"
    _, summary = faulty_replay(plan, tmp_path, capsys, "--faults", "1")
    kinds = ("instance killed", "PutEvents partial failure", "dynamodb error", "s3 error", "eventbridge error")
    for kind in (*kinds, "concurrent invocation"):
        assert re.search(rf"{kind} [1-9]", summary), (kind, summary)
    assert re.search(r"redriven from the dead-letter queues at the end: \d+ messages", summary)


@pytest.mark.parametrize("seed", [3, 4])
def test_faults_and_chaos_together(replayed, seed, tmp_path, capsys) -> None:
    plan = JOBS / "bbox-three-iterations.plan.jsonl"
    plain = replayed(plan)
    run, summary = faulty_replay(plan, tmp_path, capsys, "--faults", str(seed), "--chaos", str(seed))

    assert run.exit_code == 0, summary
    assert f"chaos seed {seed}, faults seed {seed}" in summary
    assert '"_aws"' not in summary  # a killed instance's unflushed metrics die with it, never printed
    assert set(run.facts()) == set(plain.facts())
    assert repeats(run) <= window(summary), summary


def test_the_wired_use_cases_and_the_deadline_read_the_simulated_clock() -> None:
    from gtproc.handlers import wiring
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.faulty_replay import FaultyAWS
    from gtproc.local.replay import _Context

    with embedded_aws() as resources:
        simulated = FaultyAWS(1, resources)
        simulated.now = 5_000.0  # far from wall time: a use case reading time.time() would show it
        pm, ca = wiring.process_manifest()._use_case, wiring.consolidate_annotations()._use_case
        ps = wiring.process_stream()._use_case  # both handlers take their deadline from wiring.deadline
        assert pm.clock() == ca.clock() == ps.clock() == wiring.clock() == 5_000.0
        pm.sleep(30)
        assert ca.clock() == 5_030.0
        assert wiring.deadline(_Context("manifests")) == 5_330.0
        assert type(pm.state).__name__ == "Faulty" and type(ca.publisher).__name__ == "Faulty"
    assert wiring.local is None  # the embedded AWS's end forgets the substitutes


def test_a_record_that_always_fails_is_retried_after_each_visibility_timeout_redriven_and_stays_dead() -> None:
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.faulty_replay import VISIBILITY_SECONDS
    from gtproc.local.replay import Replayer, Write

    plan = JOBS / "bad-input.plan.jsonl"
    first = json.loads(plan.read_text(encoding="utf-8").splitlines()[0])
    calls: list[float] = []

    with embedded_aws() as resources:

        def broken(event, context):
            calls.append(replayer.faults.now)
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

        replayer = Replayer(resources, {"manifests": broken}, faults_seed=1)
        result = replayer.run([Write(first["key"], plan.parent / first["file"])])

    assert result.dead_letters == {"manifests": 1, "annotations": 0}  # exit 1: dead even after the redrive
    assert result.faults.redriven == 1
    # 5 receives, each after the previous one's visibility timeout on the simulated clock; then the redrive's 5.
    assert len(calls) == 10
    gaps = [later - earlier for earlier, later in pairwise(calls[:5])]
    assert all(gap >= VISIBILITY_SECONDS for gap in gaps), gaps


def test_a_second_invocation_of_the_same_records_mid_run_publishes_nothing_twice() -> None:
    """Most runs meet a twin: the same records on another instance, started at one of the run's AWS
    calls (no other fault). The twin of a manifests run finds the job's lease held and requeues; the twin of an
    annotations run finds the claims taken. The facts are the plain run's, each exactly once."""
    from gtproc.handlers import annotations, manifests
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.replay import Replayer, facts, load_writes

    plan = JOBS / "bbox-three-iterations.plan.jsonl"
    handlers = {"manifests": manifests.handler, "annotations": annotations.handler}
    with embedded_aws() as resources:
        plain = Replayer(resources, handlers).run(load_writes(plan))
    with embedded_aws() as resources:
        replayer = Replayer(resources, handlers, faults_seed=7)
        faults = replayer.faults.faults
        faults.error_rate = faults.kill_rate = 0.0
        faults.concurrent_rate = 0.5  # each call: so twins start early and late in runs
        requeued: list[int] = []
        from gtproc.handlers import wiring

        assert wiring.local is not None and wiring.local.requeue is not None
        requeue = wiring.local.requeue
        wiring.local.requeue = lambda record, seconds: (requeued.append(seconds), requeue(record, seconds))
        result = replayer.run(load_writes(plan))

    assert result.faults.injected["concurrent invocation"] >= plain.invocations / 2
    assert requeued, "no twin of a manifests run met the held lease"
    assert result.dead_letters == {"manifests": 0, "annotations": 0}
    published = [fact for event in result.events for fact in facts([event])]
    assert sorted(published) == sorted(fact for event in plain.events for fact in facts([event]))
    assert result.faults.window_facts == 0


def test_a_functions_python_warning_goes_to_its_log_stream_not_the_terminal(tmp_path) -> None:
    # Seed 10 kills runs before they add a metric, so Powertools' flush warns "No application metrics";
    # in Lambda that is a line of the function's log, so the replay shows it with --verbose only.
    import subprocess
    import sys

    plan = JOBS / "adjustment-chained.plan.jsonl"
    argv = [sys.executable, "-m", "gtproc", "replay", str(plan), "--faults", "10", "--chaos", "10"]

    quiet = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    verbose = subprocess.run(
        [*argv, "--verbose"], capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path
    )

    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "Warning" not in quiet.stderr, quiet.stderr[-2000:]
    assert "No application metrics to publish" in verbose.stderr
