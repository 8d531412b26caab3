"""The docs cannot drift from the code (after sqlite-utils' tests/test_docs.py).

- every command is in the README and in docs/cli.md, and the generated
  reference in docs/cli.md is every command's current --help;
- every `finops COMMAND --option` written in the README or docs/ exists;
- the header keys and hints in docs/analyzers.md and sql/README.md are the
  table the parser and `finops check` use (engine/analyzer_format.py).

`make docs` (tests/update_docs.py) rewrites the generated parts.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from finops.engine import analyzer_format
from finops.engine.cli import main

import update_docs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
WRITTEN = [README, ROOT / "sql" / "README.md", *DOCS]
COMMANDS = sorted(main.commands)


def _code(text: str) -> list[str]:
    """Lines of fenced code blocks and inline code spans."""
    out = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        out += block.splitlines()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    out += re.findall(r"`([^`\n]+)`", text)
    return out


def _invocations(path: Path) -> list[tuple[str, list[str]]]:
    """(command, options) of each `finops COMMAND ...` written in path's code."""
    found = []
    for line in _code(path.read_text(encoding="utf-8")):
        for m in re.finditer(r"(?:^|[\s$])finops ([a-z][a-z-]*)((?:[^|;#>]*))", line):
            options = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", m.group(2))
            found.append((m.group(1), options))
    return found


def _option_names(command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return names


def test_generated_cli_reference_is_current():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    block = text.split(update_docs.BEGIN, 1)[1].split(update_docs.END, 1)[0]
    assert block.strip() == update_docs.cli_reference().strip(), (
        "docs/cli.md's reference is stale: run `make docs`")


@pytest.mark.parametrize("path", [ROOT / "docs" / "analyzers.md", ROOT / "sql" / "README.md"],
                         ids=["docs/analyzers.md", "sql/README.md"])
def test_generated_analyzer_reference_is_current(path):
    text = path.read_text(encoding="utf-8")
    assert text == analyzer_format.replace_generated(text, analyzer_format.reference_markdown()), (
        f"{path.relative_to(ROOT)}: the header keys and hints are stale: run `make docs`")


def test_the_reference_lists_every_key_the_parser_accepts():
    reference = analyzer_format.reference_markdown()
    for key in (*analyzer_format.HEADER_KEY_NAMES, *analyzer_format.HINT_KEY_NAMES,
                *analyzer_format.CHART_TYPES, *analyzer_format.FORMATS):
        assert f"`{key}`" in reference, key


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme_and_docs(name):
    readme_commands = {c for c, _ in _invocations(README)}
    assert name in readme_commands, f"`finops {name}` is not in the README's commands"
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| `finops {name}\b", cli_doc, re.M), (
        f"docs/cli.md's table has no row for `finops {name}`")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_documented(name):
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split(f"### `finops {name}`", 1)[1].split("### `finops ", 1)[0]
    for option in _option_names(main.commands[name]) - {"-h"}:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", section), (
            f"{option} of `finops {name}` is not in docs/cli.md: run `make docs`")


@pytest.mark.parametrize("path", WRITTEN, ids=[str(p.relative_to(ROOT)) for p in WRITTEN])
def test_every_documented_command_and_option_exists(path):
    for command, options in _invocations(path):
        assert command in main.commands, (
            f"{path.relative_to(ROOT)} documents `finops {command}`, which does not exist")
        unknown = set(options) - _option_names(main.commands[command])
        assert not unknown, (f"{path.relative_to(ROOT)}: `finops {command}` has no option "
                             f"{', '.join(sorted(unknown))}")


def test_no_test_cites_the_specification_outside_the_repository():
    for path in (ROOT / "tests").glob("*.py"):
        if path.name == "test_docs.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "spec/" not in text, (
            f"{path.name} cites spec/...; cite docs/ (the contracts live in the repository)")
