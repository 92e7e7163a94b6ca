"""The manual (docs/, built by mkdocs --strict in the test command) documents every command, and
the README stays a door into it, not a second manual."""

from __future__ import annotations

from pathlib import Path

from pipeline.cli import main
from pipeline.cli.reference import commands, reference

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_has_its_section_in_the_command_reference() -> None:
    manual = (ROOT / "docs" / "cli.md").read_text()
    missing = [" ".join(path) for path, _ in commands(main)
               if f"\n## {' '.join(path)}\n" not in manual]  # fmt: skip
    assert not missing, f"not in docs/cli.md: {missing}; run python scripts/cli_reference.py"


def test_the_command_reference_says_what_the_commands_say() -> None:
    kept, now = (ROOT / "docs" / "cli.md").read_text().splitlines(), reference(main).splitlines()
    changed = [f"- {a}\n+ {b}" for a, b in zip(kept, now, strict=False) if a != b]
    assert len(kept) == len(now) and not changed, (
        "docs/cli.md is older than the commands' --help; run python scripts/cli_reference.py\n"
        + "\n".join(changed[:5])
    )


def test_the_readme_is_a_door_of_at_most_10_kb() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10 * 1024
    for page in ("docs/architecture.md", "docs/installation.md", "docs/cli.md"):
        assert page in readme and (ROOT / page).is_file()
    assert "../shared" not in readme, "a clone has no ../shared: the design is docs/architecture.md"


def test_every_page_of_docs_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert [p for p in pages if p not in config] == []
