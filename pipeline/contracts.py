"""The platforms' own published contracts, pinned: what the simulators serve and tests hold to.

A simulator written from the same reading as its connector confirms the connector's mistakes, so
both are held to artifacts the platforms publish themselves:

- Shopify: the Admin GraphQL introspection dumps in the npm package ``@shopify/dev-mcp``
  (``dist/data/admin_<version>.json.gz``, one per API version).
- Salesforce Commerce Cloud: the official SDK ``commerce-sdk`` on npm, whose ``dist/orders``
  TypeScript types are generated from the Checkout Orders OAS.
- Shoplazza publishes no machine-readable contract; its reference pages are followed by hand
  (``pipeline/simulators/shoplazza.py`` names what it follows).

The packages are fetched with ``npm pack`` at the pinned versions below into a cache folder
(``loginsights contracts fetch``, run by ``scripts/setup.sh``) and never committed. To move to a
newer artifact, change its pin, fetch, and run ``pytest tests/test_contracts.py``: the tests say
what the new contract breaks.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigurationError
from pipeline.sources.shopify_versions import (
    newest_stable,
    released_at,
    supported_on,
    supported_until,
)


@dataclass(frozen=True)
class NpmArtifact:
    """One pinned npm package, and the part of it that is kept."""

    name: str
    version: str
    keep_prefix: str  # members under this path of the tarball are extracted
    keep_suffixes: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}"

    @property
    def stamp(self) -> str:
        """What a complete cache folder says it holds: a change of what is kept refetches."""
        return f"{self.name}@{self.version} {' '.join(self.keep_suffixes)}\n"


SHOPIFY_ADMIN = NpmArtifact(
    "@shopify/dev-mcp", "1.16.0", "package/dist/data/", ("admin_", "supported-versions-schema.json")
)  # admin_<version>.json.gz, and the flags of each API version (a hint beside the calendar)
SFCC_ORDERS = NpmArtifact("commerce-sdk", "6.6.0", "package/dist/orders/", (".d.ts",))
ARTIFACTS = (SHOPIFY_ADMIN, SFCC_ORDERS)


def default_contracts_dir() -> Path:
    return Path.home() / ".cache" / "loginsights" / "contracts"


class ContractsMissingError(ConfigurationError):
    """A pinned artifact is not in the cache folder."""


class Contracts:
    """The cache folder of pinned artifacts, and readers for what is in it."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_contracts_dir()

    def folder(self, artifact: NpmArtifact) -> Path:
        found = self.root / artifact.folder
        if not _complete(found, artifact):
            raise ContractsMissingError(
                f"{artifact.name}@{artifact.version} is not in {self.root}; run "
                "`loginsights contracts fetch` (scripts/setup.sh does) with npm on PATH"
            )
        return found

    # -- Shopify ------------------------------------------------------------------------

    def shopify_versions(self) -> list[str]:
        """Stable Admin API versions in the pinned dumps, oldest first (``unstable`` left out)."""
        names = sorted(self.folder(SHOPIFY_ADMIN).glob("admin_*.json.gz"))
        versions = [path.name[len("admin_") : -len(".json.gz")] for path in names]
        return [version for version in versions if version[:4].isdigit()]

    def shopify_flags(self) -> dict[str, set[str]]:
        """dev-mcp's own flags per Admin API version (``releaseCandidate``, ``latestVersion``):
        a hint shown beside Shopify's calendar, which is what decides
        (``pipeline/sources/shopify_versions.py``)."""
        path = self.folder(SHOPIFY_ADMIN) / "supported-versions-schema.json"
        listed = json.loads(path.read_text()).get("admin") or []
        return {
            str(entry["name"]): {key for key, value in entry.items() if value is True}
            for entry in listed
            if isinstance(entry, dict) and "name" in entry
        }

    def shopify_introspection(self, version: str) -> dict[str, Any]:
        path = self.folder(SHOPIFY_ADMIN) / f"admin_{version}.json.gz"
        if not path.exists():
            raise ContractsMissingError(
                f"Shopify's published schema has no API version {version!r} (pinned "
                f"{SHOPIFY_ADMIN.name}@{SHOPIFY_ADMIN.version} holds {self.shopify_versions()})"
            )
        with gzip.open(path) as handle:
            dump: dict[str, Any] = json.load(handle)
        return dump.get("data", dump)

    # -- SFCC ---------------------------------------------------------------------------

    def sfcc_orders_types(self) -> Path:
        """The folder of the Checkout Orders TypeScript types (``apis/``, ``models/``)."""
        return self.folder(SFCC_ORDERS)

    def sfcc_type(self, name: str) -> dict[str, str]:
        """The declared properties of one model type (``Order``, ``Address``, ...): name -> type.

        The generated types are regular (``export type X = { key?: T; ... } & {...}``), so a
        pattern reads them; custom attributes (``c_*``) are what the open ``[key: string]``
        part allows beside them.
        """
        text = (self.sfcc_orders_types() / "models" / f"{name}.d.ts").read_text()
        body = re.search(rf"export type {re.escape(name)} = \{{(.*?)\n\}}", text, re.S)
        if body is None:
            raise ContractsMissingError(f"commerce-sdk declares no model {name!r}")
        return dict(re.findall(r"^ {4}(\w+)\??: ([^;]+);", body.group(1), re.M))

    def sfcc_required(self, name: str) -> set[str]:
        """The properties a model type declares without ``?``: every instance carries them."""
        text = (self.sfcc_orders_types() / "models" / f"{name}.d.ts").read_text()
        body = re.search(rf"export type {re.escape(name)} = \{{(.*?)\n\}}", text, re.S)
        if body is None:
            raise ContractsMissingError(f"commerce-sdk declares no model {name!r}")
        return set(re.findall(r"^ {4}(\w+): ", body.group(1), re.M))

    def sfcc_enum(self, name: str) -> set[str]:
        """The values of a string union such as ``OrderStatus`` or ``OrderChannelTypeEnum``."""
        for path in (self.sfcc_orders_types() / "models").glob("*.d.ts"):
            found = re.search(rf"export type {re.escape(name)} = ([^;]+);", path.read_text())
            if found:
                return set(re.findall(r"'([^']*)'", found.group(1)))
        raise ContractsMissingError(f"commerce-sdk declares no type {name!r}")

    def sfcc_operation_parameters(self, operation: str) -> dict[str, str]:
        """The query and path parameters an operation of the Orders API declares."""
        text = (self.sfcc_orders_types() / "apis" / "DefaultApi.d.ts").read_text()
        found = re.search(
            rf"\n {{4}}{re.escape(operation)}\(options\?: [^{{]*\{{\s*parameters\?: "
            r"CompositeParameters<\{(.*?)\}",
            text,
            re.S,
        )
        if found is None:
            raise ContractsMissingError(f"commerce-sdk declares no operation {operation!r}")
        return dict(re.findall(r"(\w+)\??: ([^;]+);", found.group(1)))

    # -- fetching -----------------------------------------------------------------------

    def fetch(self, *, npm: str = "npm") -> list[str]:
        """Fetch every pinned artifact not yet cached; returns what was fetched."""
        fetched = []
        for artifact in ARTIFACTS:
            target = self.root / artifact.folder
            if _complete(target, artifact):
                continue
            if shutil.which(npm) is None:
                raise ContractsMissingError(
                    f"npm is not on PATH, so {artifact.name}@{artifact.version} cannot be "
                    "fetched; install Node.js (Debian: apt-get install npm) and run again"
                )
            with tempfile.TemporaryDirectory() as work:
                try:
                    subprocess.run(
                        [npm, "pack", f"{artifact.name}@{artifact.version}", "--silent"],
                        cwd=work,
                        check=True,
                        capture_output=True,
                        timeout=600,
                    )
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
                    stderr = getattr(err, "stderr", b"") or b""
                    raise ContractsMissingError(
                        f"npm pack {artifact.name}@{artifact.version} failed "
                        f"({stderr.decode(errors='replace').strip()[:300] or err}); check "
                        "access to the npm registry and run again"
                    ) from err
                tarball = next(Path(work).glob("*.tgz"))
                _extract(tarball, artifact, target)
            fetched.append(f"{artifact.name}@{artifact.version}")
        return fetched


def version_calendar(contracts: Contracts, now: datetime) -> list[dict[str, Any]]:
    """Each pinned Shopify schema's state by the calendar, beside the artifact's flags."""
    flags = contracts.shopify_flags()
    default = newest_stable(now)
    rows = []
    for version in contracts.shopify_versions():
        if supported_on(version, now):
            state = f"stable until {supported_until(version):%Y-%m-%d} 17:00 UTC"
        elif released_at(version) > now:
            state = f"not released (due {released_at(version):%Y-%m-%d %H:%M} UTC)"
        else:
            state = "past its support window"
        rows.append(
            {
                "version": version,
                "state": state,
                "default": version == default,
                "flags": sorted(flags.get(version, set())),
            }
        )
    return rows


def _complete(folder: Path, artifact: NpmArtifact) -> bool:
    marker = folder / ".complete"
    return marker.exists() and marker.read_text() == artifact.stamp


def _extract(tarball: Path, artifact: NpmArtifact, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith(artifact.keep_prefix):
                continue
            relative = member.name[len(artifact.keep_prefix) :]
            leaf = relative.rsplit("/", 1)[-1]
            if not any(leaf.startswith(s) or leaf.endswith(s) for s in artifact.keep_suffixes):
                continue
            source = archive.extractfile(member)
            if source is None or ".." in Path(relative).parts:
                continue
            destination = partial / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with source, destination.open("wb") as out:
                shutil.copyfileobj(source, out)
    (partial / ".complete").write_text(artifact.stamp)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


__all__ = [
    "ARTIFACTS",
    "SFCC_ORDERS",
    "SHOPIFY_ADMIN",
    "Contracts",
    "ContractsMissingError",
    "NpmArtifact",
    "default_contracts_dir",
    "version_calendar",
]
