"""Cold start as deployed: the layer and the code with and without bytecode, side by side in one run.

Lambda's file system is read-only, so what ships without .pyc files is compiled at every cold start.
bench_cold_start.py runs from this checkout's venv, where every module has its .pyc. Here each function
runs (as there: import, then its first record on moto) from a layer built by pip like the stack's, in
three variants, with bytecode writing off:

- no bytecode: the layer and the code as sources (as the stack deployed them before);
- layer bytecode: the layer compiled, the code as sources;
- all bytecode: both compiled, as the stack deploys them now (infra/bytecode.py).

The runtime's own modules (the standard library, boto3 and botocore) have their bytecode in every
variant, as in Lambda. This machine's Python compiles for itself, so the files are 3.11's here and
3.12's in the deployed layer; the cost they save is the same kind.

    .venv/bin/python benchmarks/bench_bytecode.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_cold_start as cold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.bytecode import compile_here  # noqa: E402
from infra.constructs.functions import FUNCTIONS_DIR, copy_code  # noqa: E402
from infra.layer import LAMBDA_LAYER_REQUIREMENTS, prune_runtime_provided  # noqa: E402


def _compiled(source: Path, target: Path, ddir: str) -> Path:
    shutil.copytree(source, target)
    compile_here(target, ddir)
    return target


def build(work: Path) -> dict[str, tuple[Path, Path]]:
    """Variant -> (code dir, layer dir)."""
    requirements = work / "requirements.txt"
    requirements.write_text("\n".join(LAMBDA_LAYER_REQUIREMENTS) + "\n")
    layer = work / "layer-src"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    subprocess.run([*pip, "--target", str(layer), "--requirement", str(requirements)], check=True)
    prune_runtime_provided(layer)
    code = work / "code-src"
    copy_code(FUNCTIONS_DIR, code)  # what the code bundling copies
    layer_pyc, code_pyc = (
        _compiled(layer, work / "layer-pyc", "/opt/python"),
        _compiled(code, work / "code-pyc", "/var/task"),
    )
    return {"no bytecode": (code, layer), "layer bytecode": (code, layer_pyc), "all bytecode": (code_pyc, layer_pyc)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        variants = build(Path(tmp))
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr)
            for target in cold.TARGETS[1:]:
                for variant, (code, layer) in variants.items():  # round-robin: a load spike hits all alike
                    cold.prepare(endpoint)
                    env = cold.child_env(endpoint, code)
                    env["PYTHONPATH"] = os.pathsep.join([str(code), str(layer), str(ROOT / "benchmarks")])
                    env["PYTHONDONTWRITEBYTECODE"] = "1"  # as on Lambda's read-only file system
                    command = [sys.executable, "-c", cold.CHILD, target.module, json.dumps(target.event)]
                    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
                    lines = [line for line in run.stdout.splitlines() if line.startswith("COLDSTART ")]
                    if run.returncode != 0 or not lines:
                        raise SystemExit(f"{target.name} ({variant}): exit {run.returncode}\n{run.stderr[-3000:]}")
                    measured = json.loads(lines[-1].removeprefix("COLDSTART "))
                    results.setdefault((target.name, variant), []).append(
                        (measured["import"] + measured["first"], measured["cpu"])
                    )
    server.stop()
    print("medians in ms of import + first record; cpu: the function's own CPU time\n")
    print("| function | variant | total | cpu | total vs no bytecode |")
    print("|---|---|---:|---:|---:|")
    for target in cold.TARGETS[1:]:
        base = statistics.median(t for t, _ in results[(target.name, "no bytecode")])
        for variant in variants:
            runs = results[(target.name, variant)]
            total, cpu = statistics.median(t for t, _ in runs), statistics.median(c for _, c in runs)
            print(f"| {target.name} | {variant} | {total * 1000:.0f} | {cpu * 1000:.0f} | {total / base:.2f}x |")


if __name__ == "__main__":
    main()
