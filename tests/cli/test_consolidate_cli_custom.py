"""`gtproc consolidate` on a custom-template job: every element by its shape, --element to pick one,
mask elements written next to the others."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from gtproc.cli.main import main
from gtproc.domain.consolidation import decode_png, encode_png


def _mask(value: int) -> str:
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[:2, :, 0] = value  # the top half painted in the class colour
    return base64.b64encode(encode_png(pixels)).decode()


def _job(tmp_path: Path) -> Path:
    job = tmp_path / "pets-custom"
    for oid in ("0", "1"):
        folder = job / "annotations" / "worker-response" / "iteration-1" / oid
        folder.mkdir(parents=True)
        answers = [
            {
                "workerId": worker,
                "answerContent": {
                    "pet": {"label": "cat" if worker != "w3" or oid == "0" else "dog"},
                    "area": {
                        "labeledImage": {"pngImageData": _mask(255)},
                        "labelMappings": {"fur": {"color": "#ff0000"}},
                    },
                    "comment": f"{worker} on {oid}",
                },
            }
            for worker in ("w1", "w2", "w3")
        ]
        (folder / "2024-01-01_00:00:00.json").write_text(json.dumps({"answers": answers}))
    return job


def run(capsys, *argv) -> tuple[int, list[dict], str]:
    code = main(["consolidate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_every_element_consolidated_and_masks_written(tmp_path: Path, capsys):
    job = _job(tmp_path)
    code, lines, err = run(capsys, job, "--masks-dir", tmp_path / "masks")
    assert code == 0
    assert (
        err
        == "gtproc consolidate: 2 objects: 2 consolidated, 0 left out; method custom-by-shape (custom); 1 iteration\n"
    )
    content = lines[1]["consolidatedAnnotation"]["content"]
    label, metadata = content["pets-custom"], content["pets-custom-metadata"]
    assert metadata["elements"]["pet"]["class-name"] == "cat"  # two of three
    assert metadata["elements"]["comment"] == {"shape": "unknown", "consolidated": False}
    assert len(label["comment"]["annotationsFromAllWorkers"]) == 3
    mask_uri = label["area"]
    assert mask_uri.endswith("/iteration-1/1-area.png")
    mask = decode_png((tmp_path / "masks" / "iteration-1" / "1-area.png").read_bytes())
    assert mask.shape[:2] == (4, 4)


def test_element_picks_one(tmp_path: Path, capsys):
    code, lines, err = run(capsys, _job(tmp_path), "--element", "pet")
    assert code == 0 and err.count("\n") == 1 and "2 consolidated, 0 left out" in err  # the summary alone
    for line in lines:
        content = line["consolidatedAnnotation"]["content"]
        assert set(content["pets-custom"]) == {"pet"}
        assert content["pets-custom-metadata"]["elements"]["pet"]["class-name"] == "cat"


def test_element_missing_from_every_answer_fails_each_object(tmp_path: Path, capsys):
    code, lines, err = run(capsys, _job(tmp_path), "--element", "nope")
    assert (code, lines) == (1, [])
    assert "iteration 1, object 0 left out: no answer has element 'nope'" in err


def test_custom_output_makes_valid_manifest_lines(tmp_path: Path, capsys):
    _, lines, _ = run(capsys, _job(tmp_path), "--masks-dir", tmp_path / "masks")
    manifest = tmp_path / "out.manifest"
    rows = [
        {"source-ref": f"s3://in/{line['datasetObjectId']}.jpg", **line["consolidatedAnnotation"]["content"]}
        for line in lines
    ]
    manifest.write_text("".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows))
    assert main(["validate", str(manifest)]) == 0
    assert "2 labeled" in capsys.readouterr().out
