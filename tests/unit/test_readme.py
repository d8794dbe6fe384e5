"""The README and docs/ document the contract as the code defines it, and name nothing that is not there."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest
from gtproc.contract.events import DETAIL_TYPES
from gtproc.contract.schemas import END, START, main, render
from gtproc.domain.validation import Rule

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
EVENTS_DOC = DOCS / "events.md"
# Every markdown page a reader is sent to; the generated ones under events/ included.
PAGES = sorted(
    [ROOT / "README.md", *DOCS.glob("*.md"), ROOT / "benchmarks" / "README.md", *(ROOT / "events").rglob("README.md")]
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
SOURCE_SUFFIXES = (".py", ".md", ".toml", ".jsonl")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def test_event_schemas_in_docs_match_the_contract(tmp_path):
    text = EVENTS_DOC.read_text(encoding="utf-8")
    assert text[text.index(START) : text.index(END) + len(END)] == render()
    assert main(["--check", str(EVENTS_DOC)]) == 0
    stale = tmp_path / "events.md"
    stale.write_text(text.replace('"jobName"', '"jobname"', 1), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert main(["--write", str(stale)]) == 0 and stale.read_text(encoding="utf-8") == text


def test_every_event_and_rule_code_is_documented():
    events = EVENTS_DOC.read_text(encoding="utf-8")
    for detail_type in DETAIL_TYPES:
        assert f"**`{detail_type}`**" in events, detail_type
    rules = (DOCS / "validate.md").read_text(encoding="utf-8")
    for rule in Rule:
        assert f"| `{rule.value}`" in rules or f", `{rule.value}` |" in rules, rule


def test_quickstart_has_two_commands_and_ci_runs_the_test_command():
    start = README.index("## Quickstart")
    quickstart = README[start : README.index("\n## ", start + 1)]
    commands = re.findall(r"```bash\n(.+?)\n```", quickstart, re.S)
    assert len(commands) == 2 and all("\n" not in command for command in commands)
    assert "gtproc replay" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[0] in ci and commands[1] in ci


def test_readme_is_short_and_links_every_doc():
    assert README.count("\n") <= 300
    for page in DOCS.glob("*.md"):
        assert f"](docs/{page.name})" in README, f"README.md links no {page.name}"


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {slug(heading) for heading in re.findall(r"^#+ (.+)$", text, re.M)}


def prose(page: Path) -> str:
    """The page without its fenced blocks (shell sessions and JSON examples name S3 keys, not files)."""
    return re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)


def test_slug_is_githubs():
    assert slug("The guarantee: each fact once") == "the-guarantee-each-fact-once"
    assert (
        slug("Using an existing output bucket (`outputBucketName`)")
        == "using-an-existing-output-bucket-outputbucketname"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_anchor_exists(page):
    for target in LINK.findall(CODE_SPAN.sub("", prose(page))):
        if re.match(r"[a-z]+:", target):  # http(s), mailto
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.relative_to(ROOT)}: link to {target}: no such file"
        if anchor:
            assert anchor in anchors(linked), f"{page.relative_to(ROOT)}: link to {target}: no such heading"


def named_paths(text: str, folder: Path) -> dict[str, bool]:
    """Backticked repository paths (from the root, or from the page's folder) and whether each exists."""
    found = {}
    for span in CODE_SPAN.findall(text):
        if " " in span or "/" not in span or span.startswith(("/", "../")) or any(c in span for c in "<>*{}[]:$="):
            continue  # a command, a key pattern, a regex, a URI or a path outside the repository
        first = span.split("/", 1)[0]
        for base in (ROOT, folder):
            if (base / first).exists():  # a folder or file of the repository, or of the page's folder
                found[span] = (base / span).exists()
                break
        else:
            if span.endswith(SOURCE_SUFFIXES):  # a file of ours under a folder that is not there
                found[span] = False
    return found


def test_named_paths_finds_paths_and_flags_missing_ones():
    found = named_paths(
        "`functions/gtproc/contract/`, `docs/nope.md`, `usecases/ports.py`, `jobs/README.md`, `labels/`, `/jobs/`"
        " `a b/c` `../shared/x.md`",
        ROOT,
    )
    assert found == {
        "functions/gtproc/contract/": True,
        "docs/nope.md": False,
        "usecases/ports.py": False,
        "jobs/README.md": False,
    }
    assert named_paths("`jobs/README.md`", ROOT / "events") == {"jobs/README.md": True}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_repository_path_named_exists(page):
    missing = [span for span, exists in named_paths(prose(page), page.parent).items() if not exists]
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_metrics_emitted_are_the_ones_operations_documents():
    handlers = ROOT / "functions" / "gtproc" / "handlers"
    emitted = {
        name for source in handlers.glob("*.py") for name in re.findall(r'add_metric\(name="(\w+)"', source.read_text())
    }
    assert len(emitted) >= 10
    table = (DOCS / "operations.md").read_text(encoding="utf-8").split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    assert documented == emitted


def comments_and_docstrings(source: Path) -> str:
    """The prose of a source file: its comments and docstrings (string literals are the code's own paths,
    tested by what reads them)."""
    text = source.read_text(encoding="utf-8")
    if source.suffix != ".py":  # a shell script
        return "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    comments = [
        tok.string for tok in tokenize.generate_tokens(io.StringIO(text).readline) if tok.type == tokenize.COMMENT
    ]
    nodes = [node for node in ast.walk(ast.parse(text)) if isinstance(node, DOCUMENTED)]
    return "\n".join(comments + [doc for node in nodes if (doc := ast.get_docstring(node))])


DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def test_markdown_files_named_in_code_exist():
    """A comment or docstring that sends the reader to a page names one that is there."""
    sources = [
        path
        for folder in ("functions", "infra", "tests", "benchmarks", "events", ".ci")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in ("", ".py") and path.is_file() and "__pycache__" not in path.parts
    ]
    assert len(sources) > 50
    assert "docs/deploying.md" in comments_and_docstrings(ROOT / "infra" / "config.py")
    dangling = []
    for source in sources:
        for name in re.findall(r"(?<![\w./-])((?:[\w.-]+/)*[\w-]+\.md)\b", comments_and_docstrings(source)):
            bases = [ROOT, *source.parents]
            if not any((base / name).exists() for base in bases if ROOT in (base, *base.parents)):
                dangling.append(f"{source.relative_to(ROOT)}: {name}")
    assert not dangling


def test_ci_runs_the_deploying_commands_of_the_docs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (extract,) = re.findall(r"^deploying=\$\((.+)\)$", ci, re.M)
    done = subprocess.run(["bash", "-c", extract], cwd=ROOT, capture_output=True, text=True, check=True)
    deploying = bash_blocks(DOCS / "deploying.md")[0]
    assert done.stdout == deploying + "\n"
    assert "pip install" in deploying and deploying.rstrip().splitlines()[-1].startswith("cdk synth")


def bash_blocks(page: Path) -> list[str]:
    return re.findall(r"^```bash\n(.*?)\n```", page.read_text(encoding="utf-8"), re.S | re.M)
