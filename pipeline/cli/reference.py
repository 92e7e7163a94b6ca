"""The manual's command reference (docs/cli.md), rendered from the commands' own ``--help``, so
the manual and the CLI never disagree: ``python scripts/cli_reference.py`` writes it, and a test
fails when a command is missing from it or its help changed since."""

from __future__ import annotations

from collections.abc import Iterator

import click

INTRO = """# Command reference

Every `loginsights` command with its `--help`, as the command prints it (this page is rendered
from the commands themselves by `python scripts/cli_reference.py`; a test fails when it is out
of date). Options shared by every command (`--solr-url`, `--state-dir`, `--shops-file`, …) are
those of `loginsights --help`, at the top.
"""
WIDTH = 100


def commands(
    group: click.Group, path: tuple[str, ...] = ("loginsights",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``group``, depth first in name order, the group itself first."""
    yield path, group
    for name in sorted(group.commands):
        sub = group.commands[name]
        if getattr(sub, "hidden", False):
            continue
        if isinstance(sub, click.Group):
            yield from commands(sub, (*path, name))
        else:
            yield (*path, name), sub


def help_text(root: click.Group, path: tuple[str, ...]) -> str:
    """The help a user sees for ``path``: contexts chained from the root as click chains them
    (the root's settings, ``-h`` among them, reach every command)."""
    command: click.Command = root
    context = click.Context(
        root, info_name=path[0], terminal_width=WIDTH, max_content_width=WIDTH,
        **root.context_settings,
    )  # fmt: skip
    for name in path[1:]:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        context = click.Context(command, info_name=name, parent=context, **command.context_settings)
    return command.get_help(context)


def reference(main: click.Group) -> str:
    """docs/cli.md's text."""
    parts = [INTRO]
    for path, _ in commands(main):
        parts.append(f"\n## {' '.join(path)}\n\n```text\n{help_text(main, path)}\n```\n")
    return "".join(parts)


__all__ = ["commands", "reference"]
