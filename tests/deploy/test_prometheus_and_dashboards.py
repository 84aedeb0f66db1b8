"""The Prometheus config and alert rules, checked and unit-tested by promtool (`make promtool`
installs it where missing; CI does), the config `make run` derives from them, and the
dashboards as deploy/dashboards.py writes them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.dashboards import rendered
from deploy.local_prometheus import local_config
from deploy.observability import dashboard_expressions, metric_names, rule_expressions

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed here (`make promtool` installs it)"
)


def _promtool(*arguments: str) -> None:
    assert PROMTOOL is not None
    done = subprocess.run(  # noqa: S603 - the machine's promtool, our files
        [PROMTOOL, *arguments], capture_output=True, text=True, cwd=PROMETHEUS, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_promtool_accepts_the_scrape_config_and_the_rules() -> None:
    _promtool("check", "config", "prometheus.yml")
    _promtool("check", "rules", "alerts.yml")


@needs_promtool
def test_each_alert_fires_on_trouble_and_stays_quiet_otherwise() -> None:
    _promtool("test", "rules", "alerts.test.yml")


@needs_promtool
def test_make_runs_config_is_valid_and_scrapes_the_same_ports_on_this_machine(
    tmp_path: Path,
) -> None:
    compose = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    local = local_config(compose, broker_metrics=False)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(local))
    _promtool("check", "config", str(tmp_path / "prometheus.yml"))
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in local["scrape_configs"]
    }
    assert targets == {
        "orders": ["127.0.0.1:8001"],
        "registers": ["127.0.0.1:8002"],
        "reporting": ["127.0.0.1:8003"],
        "odoo-connector": ["127.0.0.1:8004"],
    }
    assert local["rule_files"] == [str(PROMETHEUS / "alerts.yml")]


def test_every_alert_says_how_bad_and_what_and_is_unit_tested() -> None:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["labels"]["severity"] for rule in rules} <= {"page", "ticket"}
    assert all(rule["annotations"]["summary"] for rule in rules)
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    assert tested == set(rule_expressions())


def test_the_dead_letter_alerts_read_the_dead_letter_metrics() -> None:
    rules = rule_expressions()
    assert metric_names(rules["DeadLettersWaiting"]) == {"dead_letters_open"}
    assert metric_names(rules["DeadLettersPiling"]) == {"events_dead_lettered_total"}


def test_metric_names_are_read_from_promql_as_prometheus_would() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, method) (rate(x_seconds_bucket{job="a", '
        'route=~"b|c"}[5m]))) > 2 unless on (job) up == 0 and max(y) by (queue)'
    )
    assert metric_names(expr) == {"x_seconds_bucket", "up", "y"}


def test_the_dashboard_files_are_what_the_generator_writes() -> None:
    for path, text in rendered().items():
        assert path.read_text() == text, f"run `python -m deploy.dashboards` ({path.name})"
    titles = [json.loads(text)["title"] for text in rendered().values()]
    assert len(titles) == 5
    assert all(dashboard_expressions())
