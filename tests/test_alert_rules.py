"""The alert rules shipped in monitoring/prometheus: each names metrics loginsights exports, has
a runbook line, and is unit-tested by promtool both firing and staying quiet (promtool itself
runs them in the test command; here the coverage and the names are held)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.api.metrics import ApiMetrics

RULES = Path(__file__).resolve().parent.parent / "monitoring" / "prometheus"


def alerts() -> list[dict]:  # type: ignore[type-arg]
    groups = yaml.safe_load((RULES / "loginsights-rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def exported() -> set[str]:
    names = set()
    for family in ApiMetrics().registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_each_alert_reads_exported_metrics_and_says_what_to_do(rule: dict) -> None:  # type: ignore[type-arg]
    used = set(re.findall(r"\bloginsights_[a-z_]+", rule["expr"]))
    counted = {name + end for name in exported() for end in ("_total", "_count", "_sum", "_bucket")}
    assert used and used <= exported() | counted, f"not exported: {used - exported() - counted}"
    assert rule["annotations"]["runbook"] and rule["annotations"]["summary"]
    assert rule["labels"]["severity"] in ("info", "warning", "critical")


def test_each_alert_is_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load((RULES / "loginsights-rules.test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for rule in alerts():
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{rule['alert']} never fires in a test"
        assert any(not case["exp_alerts"] for case in mine), f"{rule['alert']} never stays quiet"


def test_promtool_passes_the_rules_and_their_tests() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (scripts/test.sh does)"
    for args in (["check", "rules", "loginsights-rules.yml"],
                 ["test", "rules", "loginsights-rules.test.yml"]):  # fmt: skip
        done = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
