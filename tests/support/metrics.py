"""Reads a /metrics page on stdin with the Prometheus client's own parsers and prints its samples
as one JSON object: {"name{label=value,...}": value}, labels sorted.

    python3 metrics.py [openmetrics|prometheus] < page

`openmetrics` (the default) is the format the relay serves; `prometheus` is the older text
format parser, which must read the page too. A page either parser refuses exits 1.
"""

import json
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as prometheus_families


def main() -> None:
    parser = sys.argv[1] if len(sys.argv) > 1 else "openmetrics"
    text = sys.stdin.read()
    families = openmetrics_families if parser == "openmetrics" else prometheus_families
    if parser == "prometheus":
        # The older format has no end marker.
        text = text.replace("# EOF\n", "")
    samples = {}
    try:
        for family in families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}"] = sample.value
    except ValueError as error:
        print(f"unparsable: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(samples))


if __name__ == "__main__":
    main()
