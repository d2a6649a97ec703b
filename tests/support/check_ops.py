"""Checks the example dashboard and alert rules in ops/: they parse, have the shape Grafana and
Prometheus expect, and name only metrics the relay exports.

    python3 check_ops.py ops/ EXPORTED_NAMES_JSON

EXPORTED_NAMES_JSON is a JSON list of the sample names a live relay serves (`otp_relay_sends_total`,
`otp_relay_delivery_seconds_bucket`, ...). Prints what it checked; exits 1 naming what is wrong.
"""

import json
import pathlib
import re
import sys

import yaml

METRIC = re.compile(r"\botp_relay_[a-z_]+\b")


def main() -> None:
    ops = pathlib.Path(sys.argv[1])
    exported = set(json.loads(sys.argv[2]))
    problems = []
    expressions = []

    rules = yaml.safe_load((ops / "prometheus" / "alerts.yml").read_text())
    alerts = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            for field in ("alert", "expr", "for", "labels", "annotations"):
                if field not in rule:
                    problems.append(f"alert rule {rule.get('alert')!r} has no {field}")
            if "severity" not in rule.get("labels", {}):
                problems.append(f"alert {rule.get('alert')!r} has no severity label")
            if "summary" not in rule.get("annotations", {}):
                problems.append(f"alert {rule.get('alert')!r} has no summary")
            alerts.append(rule.get("alert"))
            expressions.append((f"alert {rule.get('alert')}", rule.get("expr", "")))

    dashboard = json.loads((ops / "grafana" / "otp-relay.json").read_text())
    panels = dashboard["panels"]
    for panel in panels:
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"panel {panel.get('title')!r} has no query")
        for target in targets:
            expressions.append((f"panel {panel.get('title')}", target["expr"]))

    named = set()
    for where, expression in expressions:
        names = METRIC.findall(expression)
        if not names:
            problems.append(f"{where} names no otp_relay metric: {expression}")
        for name in names:
            named.add(name)
            if name not in exported:
                problems.append(f"{where} names {name}, which the relay does not export")

    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(
        json.dumps(
            {"alerts": alerts, "panels": [p["title"] for p in panels], "metrics": sorted(named)}
        )
    )


if __name__ == "__main__":
    main()
