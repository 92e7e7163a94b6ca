"""Write docs/cli.md from the commands' own --help (pipeline/cli/reference.py)."""

from pathlib import Path

from pipeline.cli import main
from pipeline.cli.reference import reference

target = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
target.write_text(reference(main))
print(f"wrote {target}")
