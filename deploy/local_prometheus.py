"""Prometheus for `make run`, when a `prometheus` binary is on the machine (Debian packages one):
the compose stack's scrape config and alert rules, with each job's DNS discovery (a compose
service name) replaced by the same port on 127.0.0.1, where `make run` serves it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console

console = Console()
PROMETHEUS_DIR = Path(__file__).resolve().parent / "prometheus"
LISTEN = "127.0.0.1:9090"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def local_config(compose_config: dict[str, Any], broker_metrics: bool) -> dict[str, Any]:
    """The compose config for processes on this machine: rule files by absolute path, every
    job's targets on 127.0.0.1, and RabbitMQ's jobs only if its Prometheus plugin answers."""
    config = {
        **compose_config,
        "rule_files": [str(PROMETHEUS_DIR / name) for name in compose_config["rule_files"]],
    }
    jobs = []
    for job in compose_config["scrape_configs"]:
        ports = [lookup["port"] for lookup in job.get("dns_sd_configs", [])]
        if job["job_name"].startswith("rabbitmq") and not broker_metrics:
            continue
        local = {key: value for key, value in job.items() if key != "dns_sd_configs"}
        local["static_configs"] = [{"targets": [f"127.0.0.1:{port}" for port in ports]}]
        jobs.append(local)
    config["scrape_configs"] = jobs
    return config


def start_prometheus(run_dir: Path) -> subprocess.Popen[bytes] | None:
    """Starts Prometheus on 127.0.0.1:9090 and returns it once ready; None if there is no
    binary or it did not come up (the stack runs without it)."""
    binary = shutil.which("prometheus")
    if binary is None:
        console.print("[dim]no prometheus binary here: alerts are not evaluated[/dim]")
        return None
    home = run_dir / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    compose_config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config = local_config(compose_config, _answers("http://127.0.0.1:15692/metrics"))
    (home / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    log = (run_dir / "prometheus.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - the machine's prometheus, arguments we build
        [
            binary,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address={LISTEN}",
        ],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        if _answers(f"http://{LISTEN}/-/ready"):
            return process
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    console.print(f"[yellow]prometheus did not start; see {run_dir / 'prometheus.log'}[/yellow]")
    return None
