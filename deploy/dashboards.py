"""The on-call dashboards, one per concern, written as Grafana JSON into deploy/grafana/dashboards
(which Grafana provisions): `python -m deploy.dashboards` after changing a panel here.
tests/deploy checks that the files are what this writes, and that every metric a panel names
is one the services or RabbitMQ export."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DASHBOARD_DIR = Path(__file__).resolve().parent / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
# The queues that hold messages on purpose; every other queue is a work queue.
HOLDING = ".+\\\\.(dlq|retry\\\\..+|wait\\\\..+)"
WORK_QUEUES = f'queue!~"{HOLDING}"'
REPORTING_QUEUE = 'queue=~"(.+\\\\.)?reporting\\\\.events"'
NOT_PROBES = 'route!~"/healthz|/readyz|/metrics"'


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    # (PromQL, legend) pairs, one line each.
    queries: tuple[tuple[str, str], ...]
    unit: str = "short"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def _quantiles(metric: str, selector: str = "", by: str = "") -> tuple[tuple[str, str], ...]:
    grouping = f"le, {by}" if by else "le"
    legend = f"{{{{{by}}}}} " if by else ""
    return tuple(
        (
            f"histogram_quantile({q}, sum by ({grouping}) "
            f"(rate({metric}_bucket{{{selector}}}[5m])))",
            f"{legend}p{round(q * 100)}",
        )
        for q in (0.5, 0.99)
    )


INGEST = Dashboard(
    "pos-ingest",
    "POS · Ingest (orders from the tills)",
    "What the tablets send and how fast it is taken: an order is accepted once it is in Postgres.",
    (
        Panel(
            "Orders and refunds accepted per second",
            "Successful POSTs of orders and refunds.",
            (
                (
                    'sum(rate(http_request_duration_seconds_count{job="orders", method="POST", '
                    'route="/v1/orders", status=~"2.."}[5m]))',
                    "orders",
                ),
                (
                    'sum(rate(http_request_duration_seconds_count{job="orders", method="POST", '
                    'route="/v1/orders/{order_id}/refunds", status=~"2.."}[5m]))',
                    "refunds",
                ),
            ),
            "reqps",
        ),
        Panel(
            "Time to accept an order",
            "POST /v1/orders, from request to answer; the tablet waits this long.",
            _quantiles(
                "http_request_duration_seconds", 'job="orders", method="POST", route="/v1/orders"'
            ),
            "s",
        ),
        Panel(
            "Orders service answers by status",
            "503 means the database is away (the tablet retries the same order id); 4xx are "
            "the tablets' own mistakes.",
            (
                (
                    "sum by (status) (rate(http_request_duration_seconds_count"
                    f'{{job="orders", {NOT_PROBES}}}[5m]))',
                    "{{status}}",
                ),
            ),
            "reqps",
        ),
        Panel(
            "Every service's answers by status",
            "The admins' (registers), the reports' and the connector's APIs beside the tills'.",
            (
                (
                    "sum by (job, status) (rate(http_request_duration_seconds_count"
                    f"{{{NOT_PROBES}}}[5m]))",
                    "{{job}} {{status}}",
                ),
            ),
            "reqps",
        ),
        Panel(
            "Dependencies away",
            "1 while a component cannot reach the database or the broker; orders are still "
            "taken while only the broker is away.",
            (
                (
                    "max by (job, dependency, component) (dependency_unavailable)",
                    "{{job}}: {{component}} → {{dependency}}",
                ),
            ),
        ),
    ),
)

OUTBOX = Dashboard(
    "pos-outbox",
    "POS · Outbox and relay",
    "Events written with their state change and published by each service's relay.",
    (
        Panel(
            "Events waiting to be published",
            "Written but not yet confirmed by RabbitMQ, per service schema.",
            (("max by (schema) (outbox_backlog_events)", "{{schema}}"),),
        ),
        Panel(
            "Oldest unpublished event",
            "Alert OutboxNotDraining past 2 minutes.",
            (("max by (schema) (outbox_oldest_unsent_age_seconds)", "{{schema}}"),),
            "s",
        ),
        Panel(
            "Published per second",
            "Confirmed by the broker.",
            (("sum by (schema) (rate(outbox_published_total[5m]))", "{{schema}}"),),
            "ops",
        ),
        Panel(
            "Failed publish attempts per second",
            "Nacked, returned (unroutable) or the broker away; each is retried.",
            (("sum by (schema) (rate(outbox_publish_failures_total[5m]))", "{{schema}}"),),
            "ops",
        ),
        Panel(
            "Relays that cannot reach a dependency",
            "1 while a relay cannot reach the broker or the database.",
            (
                (
                    'max by (component, dependency) (dependency_unavailable{component=~"outbox '
                    'relay.*"})',
                    "{{component}} → {{dependency}}",
                ),
            ),
        ),
        Panel(
            "Rows pruned by housekeeping",
            "Published outbox rows, inbox rows and closed dead letters that went, per hour.",
            (("sum by (table) (increase(housekeeping_pruned_rows_total[1h]))", "{{table}}"),),
        ),
    ),
)

CONNECTOR = Dashboard(
    "pos-connector",
    "POS · Connector and Odoo",
    "Pro tenants' orders, refunds, sessions and registers on their way into Odoo.",
    (
        Panel(
            "Messages finished by outcome",
            "synced, skipped (imported from Odoo) and the rest, per event type.",
            (
                (
                    "sum by (event_type, outcome) (rate(connector_messages_processed_total[5m]))",
                    "{{event_type}} {{outcome}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Sale to Odoo (sync lag)",
            "From the till's order.placed to the order in Odoo; alert SyncLagP99OverTarget "
            "past 10 s.",
            _quantiles("connector_sync_lag_seconds"),
            "s",
        ),
        Panel(
            "Odoo call latency, p99 by method",
            "JSON-RPC calls to the tenants' Odoos.",
            (
                (
                    "histogram_quantile(0.99, sum by (le, method) "
                    "(rate(connector_odoo_call_seconds_bucket[5m])))",
                    "{{method}}",
                ),
            ),
            "s",
        ),
        Panel(
            "Odoo calls by outcome",
            "Answers, Odoo refusals and calls that got no answer.",
            (
                (
                    "sum by (outcome) (rate(connector_odoo_call_seconds_count[5m]))",
                    "{{outcome}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Circuit breakers open",
            "1 while an Odoo does not answer; its messages wait, budget intact.",
            (("max by (endpoint) (connector_breaker_open)", "{{endpoint}}"),),
        ),
        Panel(
            "Retried and waiting",
            "Sent to a retry tier (spends the budget) or to the wait queue (does not).",
            (
                (
                    "sum by (queue, error_class) (rate(events_retried_total[5m]))",
                    "retried {{queue}} {{error_class}}",
                ),
                (
                    "sum by (queue, reason) (rate(events_waiting_total[5m]))",
                    "waiting {{queue}} {{reason}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Open dead letters",
            "Every service's, by queue and error class; alert DeadLettersWaiting.",
            (
                (
                    "max by (queue, error_class) (dead_letters_open)",
                    "{{queue}} {{error_class}}",
                ),
            ),
        ),
        Panel(
            "Oldest open dead letter",
            "Per queue.",
            (("max by (queue) (dead_letters_oldest_open_age_seconds)", "{{queue}}"),),
            "s",
        ),
        Panel(
            "Dead-lettered, replayed and discarded per hour",
            "Given up on by the consumers, and what operators did about them.",
            (
                (
                    "sum by (queue) (increase(events_dead_lettered_total[1h]))",
                    "dead-lettered {{queue}}",
                ),
                (
                    "max by (queue) (increase(dead_letters_replayed_total[1h]))",
                    "replayed {{queue}}",
                ),
                (
                    "max by (queue) (increase(dead_letters_discarded_total[1h]))",
                    "discarded {{queue}}",
                ),
            ),
        ),
        Panel(
            "Odoo session closes refused per hour",
            "Odoo refused a close or answered with its Force Close wizard.",
            (
                (
                    "sum by (final) (increase(connector_session_closes_refused_total[1h]))",
                    "final={{final}}",
                ),
            ),
        ),
        Panel(
            "Connector consumers attached",
            "Per queue, summed over replicas.",
            (
                (
                    'sum by (queue) (consumers_attached{job="odoo-connector"})',
                    "{{queue}}",
                ),
            ),
        ),
    ),
)

REPORTING = Dashboard(
    "pos-reporting-lag",
    "POS · Reporting lag",
    "How far the dashboards and reports trail the tills.",
    (
        Panel(
            "Event to read model (projection lag)",
            "From an event's occurred_at to its projection.",
            _quantiles("reporting_projection_lag_seconds"),
            "s",
        ),
        Panel(
            "Projection lag p99 by event type",
            "",
            (
                (
                    "histogram_quantile(0.99, sum by (le, event_type) "
                    "(rate(reporting_projection_lag_seconds_bucket[5m])))",
                    "{{event_type}}",
                ),
            ),
            "s",
        ),
        Panel(
            "Events projected per second",
            "By event type.",
            (
                (
                    f"sum by (event_type) (rate(events_consumed_total{{{REPORTING_QUEUE}}}[5m]))",
                    "{{event_type}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Events waiting in reporting.events",
            "Ready and delivered but not yet acknowledged.",
            (
                (
                    f"sum(rabbitmq_detailed_queue_messages_ready{{{REPORTING_QUEUE}}})",
                    "ready",
                ),
                (
                    f"sum(rabbitmq_detailed_queue_messages_unacked{{{REPORTING_QUEUE}}})",
                    "unacked",
                ),
            ),
        ),
        Panel(
            "Redeliveries skipped by the inbox",
            "Normal after a restart; steady numbers mean redelivery loops.",
            (
                (
                    f"sum(rate(events_duplicate_total{{{REPORTING_QUEUE}}}[5m]))",
                    "duplicates",
                ),
            ),
            "ops",
        ),
        Panel(
            "Chat messages (shift close, daily report) per hour",
            "By kind and outcome.",
            (
                (
                    "sum by (kind, outcome) (increase(chat_messages_total[1h]))",
                    "{{kind}} {{outcome}}",
                ),
            ),
        ),
    ),
)

RABBITMQ = Dashboard(
    "pos-rabbitmq-queues",
    "POS · RabbitMQ queues",
    "Work queues, retry tiers and dead-letter queues, from RabbitMQ's Prometheus plugin.",
    (
        Panel(
            "Ready messages per work queue",
            "Alert WorkQueueGrowing above 1000 and still growing.",
            (
                (
                    f"sum by (queue) (rabbitmq_detailed_queue_messages_ready{{{WORK_QUEUES}}})",
                    "{{queue}}",
                ),
            ),
        ),
        Panel(
            "Delivered, not yet acknowledged",
            "In the consumers' hands (prefetch).",
            (
                (
                    f"sum by (queue) (rabbitmq_detailed_queue_messages_unacked{{{WORK_QUEUES}}})",
                    "{{queue}}",
                ),
            ),
        ),
        Panel(
            "Consumers per work queue",
            "Alert WorkQueueWithoutConsumers at 0.",
            (
                (
                    f"sum by (queue) (rabbitmq_detailed_queue_consumers{{{WORK_QUEUES}}})",
                    "{{queue}}",
                ),
            ),
        ),
        Panel(
            "Dead-letter queues",
            "Each .dlq's depth is its queue's open dead letters.",
            (
                (
                    'sum by (queue) (rabbitmq_detailed_queue_messages{queue=~".+\\\\.dlq"})',
                    "{{queue}}",
                ),
            ),
        ),
        Panel(
            "Held in retry tiers and wait queues",
            "Messages sitting out their delay; they come back by themselves.",
            (
                (
                    "sum by (queue) (rabbitmq_detailed_queue_messages"
                    '{queue=~".+\\\\.(retry|wait)\\\\..+"})',
                    "{{queue}}",
                ),
            ),
        ),
        Panel(
            "Messages in and out of the broker",
            "Published to, delivered from, and dead-lettered by the broker itself (delivery "
            "limit, expiry).",
            (
                ("sum(rate(rabbitmq_global_messages_received_total[5m]))", "received"),
                ("sum(rate(rabbitmq_global_messages_delivered_total[5m]))", "delivered"),
                (
                    "sum(rate(rabbitmq_global_messages_dead_lettered_delivery_limit_total[5m]))",
                    "dead-lettered at the delivery limit",
                ),
            ),
            "ops",
        ),
        Panel(
            "Connections and channels",
            "Each service process holds a few; a drop to 0 is a broker or network outage.",
            (
                ("sum(rabbitmq_connections)", "connections"),
                ("sum(rabbitmq_channels)", "channels"),
            ),
        ),
        Panel(
            "Resource alarms",
            "1 while the broker blocks publishers: memory or disk watermark.",
            (
                ("max(rabbitmq_alarms_memory_used_watermark)", "memory"),
                ("max(rabbitmq_alarms_free_disk_space_watermark)", "disk"),
            ),
        ),
    ),
)

DASHBOARDS = (INGEST, OUTBOX, CONNECTOR, REPORTING, RABBITMQ)


def _panel_json(panel: Panel, index: int) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": [
            {
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
                "refId": chr(ord("A") + number),
            }
            for number, (expr, legend) in enumerate(panel.queries)
        ],
    }


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["pos"],
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "timezone": "utc",
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": [_panel_json(panel, index) for index, panel in enumerate(dashboard.panels)],
    }


def rendered() -> dict[Path, str]:
    """Each dashboard's file and its content."""
    return {
        DASHBOARD_DIR / f"{dashboard.uid}.json": json.dumps(dashboard_json(dashboard), indent=2)
        + "\n"
        for dashboard in DASHBOARDS
    }


def main() -> None:
    DASHBOARD_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in rendered().items():
        path.write_text(text)


if __name__ == "__main__":
    main()
