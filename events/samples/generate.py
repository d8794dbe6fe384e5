"""Generate the sample Ground Truth output trees (events/jobs/) and trigger events (events/triggers/).

Deterministic (seeded, stdlib only): running it twice gives byte-identical output.

    python events/generate_samples.py            # (re)write events/jobs, events/triggers, events/README.md
    python events/generate_samples.py --check    # regenerate into a temp dir, compare with what is on disk
    python events/generate_samples.py --out DIR  # write the same tree under DIR instead

Everything under events/ except the generator (generate_samples.py and samples/) is generated output:
edit the generator, not the files. One module per scenario (bbox_three_iterations, classification_failed_auto,
adjustment_chained, bad_input), the trigger events (triggers), a shared core (core, boxes), and the READMEs
from templates (readmes, templates/). The format follows Ground Truth's documented output format and the
real files in shared/samples/real/; the choices that public evidence does not settle are listed in
events/jobs/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from . import adjustment_chained, bad_input, bbox_three_iterations, classification_failed_auto
from .core import Tree, cj, pretty
from .readmes import jobs_readme, top_readme, triggers_readme
from .triggers import gen_triggers

EVENTS = Path(__file__).resolve().parents[1]
GENERATOR = ("generate_samples.py", "samples/")  # the code, not its output
# One module per sample job; each `build(jobs)` writes its tree under jobs/ and returns it with its expected counts.
SCENARIOS = (bbox_three_iterations, classification_failed_auto, adjustment_chained, bad_input)


def generate(out: Path) -> None:
    for sub in ("jobs", "triggers"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    jobs = out / "jobs"
    jobs.mkdir(parents=True)
    trees: dict[str, Tree] = {}
    expected: dict[str, dict] = {}
    for scenario in SCENARIOS:
        tree, exp = scenario.build(jobs)
        trees[tree.name] = tree
        expected[tree.name] = exp
        (jobs / f"{tree.name}.plan.jsonl").write_bytes(tree.plan_bytes())
        (jobs / f"{tree.name}.expected.json").write_bytes(pretty(exp))
    catalog = gen_triggers(out, trees)
    (out / "triggers" / "catalog.jsonl").write_bytes(
        "".join(
            cj({"file": c["file"], "objects": [{"sent": s, "decoded": k, "file": f} for s, k, f in c["objects"]]})
            + "\n"
            for c in catalog
        ).encode("utf-8")
    )
    (jobs / "README.md").write_text(jobs_readme(expected, trees), encoding="utf-8")
    (out / "triggers" / "README.md").write_text(triggers_readme(catalog), encoding="utf-8")
    (out / "README.md").write_text(top_readme(), encoding="utf-8")


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith(GENERATOR) and "__pycache__" not in rel:
            out[rel] = p.read_bytes()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=EVENTS, help="root to write jobs/, triggers/, README.md into")
    ap.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare with --out")
    args = ap.parse_args(argv)
    if not args.check:
        generate(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        want, have = _files(Path(tmp)), _files(args.out)
    diff = sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k))
    for k in diff[:20]:
        print(f"differs: {k}", file=sys.stderr)
    return 1 if diff else 0
