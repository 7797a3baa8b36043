"""An example Alertmanager webhook receiver: every notification becomes one structured log line
(`python -m service.alert_receiver --port 5001`). Replace it with your pager or chat hook."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog

from service.logs.pipeline import configure_logging

logger = structlog.get_logger("securenet.alerts")


class AlertLogger(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            for alert in payload.get("alerts", []):
                labels = alert.get("labels", {})
                annotations = alert.get("annotations", {})
                logger.warning(
                    "alert",
                    receiver=self.path.strip("/") or payload.get("receiver"),
                    status=alert.get("status"),
                    alertname=labels.get("alertname"),
                    severity=labels.get("severity"),
                    labels=labels,
                    summary=annotations.get("summary"),
                    deploy=annotations.get("deploy"),
                    runbook_url=annotations.get("runbook_url"),
                    aggregated=True,  # Alertmanager already groups and rate-limits
                )
        except (ValueError, AttributeError) as error:
            logger.error("alert_payload_invalid", error=str(error))
            self.send_response(400)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass  # one line per alert above is the log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alert_receiver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        server = ThreadingHTTPServer((args.host, args.port), AlertLogger)
    except OSError as error:
        print(f"alert_receiver: error: port {args.port}: {error.strerror}", file=sys.stderr)
        return 2
    logger.info("alert_receiver_listening", host=args.host, port=args.port)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
