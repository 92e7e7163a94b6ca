"""`loginsights solr users`: Solr accounts for people (operators of the admin UI)."""

from __future__ import annotations

import json
import sys

import click
from pydantic import SecretStr

from pipeline.cli.group import json_option, library_errors
from pipeline.cli.solr import solr
from pipeline.settings import Settings
from pipeline.solr.accounts import SolrRole
from pipeline.solr.people import People


@solr.group("users")
def solr_users() -> None:
    """Accounts for people (operators of the admin UI), beside the three service accounts.

    \b
    Example:
      loginsights solr users add alice --role operator     # asks for the password on stdin
      loginsights solr users list
    """


def _people(settings: Settings) -> People:
    return People(settings.people_path, settings.solr_url, settings.solr_account(SolrRole.ADMIN))


def _password_from_stdin(confirm: bool) -> SecretStr:
    """One line, or (where it asks to confirm) the same line twice; never an argument."""
    if sys.stdin.isatty():
        first = click.prompt("Password", hide_input=True, err=True)
        again = click.prompt("Again", hide_input=True, err=True) if confirm else first
    else:
        lines = sys.stdin.read().splitlines()
        first = lines[0] if lines else ""
        again = lines[1] if confirm and len(lines) > 1 else first
    if first != again:
        raise click.ClickException("the two passwords differ; nothing was changed")
    return SecretStr(first)


@solr_users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator"]), default="operator", show_default=True,
              help="What the person may do: operator searches and reads logInsights.")  # fmt: skip
@json_option
@click.pass_obj
@library_errors
def solr_users_add(settings: Settings, name: str, role: str, as_json: bool) -> None:
    """Give a person a Solr account of their own (the password from standard input).

    \b
    Example:
      printf '%s\n' "$PASSWORD" | loginsights solr users add alice --role operator
    """
    person = _people(settings).add(name, role, _password_from_stdin(confirm=False))
    _said({"added": person.name, "role": person.role}, as_json)


@solr_users.command("passwd")
@click.argument("name")
@json_option
@click.pass_obj
@library_errors
def solr_users_passwd(settings: Settings, name: str, as_json: bool) -> None:
    """Change a person's password (read twice from standard input).

    \b
    Example:
      printf '%s\n%s\n' "$NEW" "$NEW" | loginsights solr users passwd alice
    """
    people = _people(settings)
    role = next((p.role for p in people.all() if p.name == name), "operator")
    person = people.add(name, role, _password_from_stdin(confirm=True), replace=True)
    _said({"changed": person.name}, as_json)


@solr_users.command("remove")
@click.argument("name")
@json_option
@click.pass_obj
@library_errors
def solr_users_remove(settings: Settings, name: str, as_json: bool) -> None:
    """Take a person's account away (at once on the running Solr).

    \b
    Example:
      loginsights solr users remove alice
    """
    _people(settings).remove(name)
    _said({"removed": name}, as_json)


@solr_users.command("list")
@json_option
@click.pass_obj
@library_errors
def solr_users_list(settings: Settings, as_json: bool) -> None:
    """The people who have Solr accounts, and their roles (never a password or a hash).

    \b
    Example:
      loginsights solr users list --json
    """
    people = [{"name": p.name, "role": p.role} for p in _people(settings).all()]
    if as_json:
        click.echo(json.dumps(people))
    else:
        for person in people:
            click.echo(f"{person['name']}  {person['role']}")
        if not people:
            click.echo("no person has an account yet; `loginsights solr users add NAME`")


def _said(record: dict[str, str], as_json: bool) -> None:
    click.echo(json.dumps(record) if as_json else ", ".join(f"{k} {v}" for k, v in record.items()))
