"""A webhook receiver for the tests: checks every POST's Standard Webhooks signature with the
`standardwebhooks` library (PyPI) and writes what it received, one JSON object a line, to --out:
{"verified": true, "payload": {...}, "headers": {...}} answered 204, or
{"verified": false, "error": "..."} answered 401 (a refused signature).

    webhook_receiver.py --secret whsec_... --out received.jsonl [--answer 500]

--answer makes it answer that status to signed requests too (a receiver that fails). Prints
"READY <port>" once listening on 127.0.0.1; stops on stdin EOF.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--answer", type=int, default=204)
    args = parser.parse_args()
    webhook = Webhook(args.secret)
    lock = threading.Lock()

    def record(entry):
        with lock, open(args.out, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                payload = webhook.verify(body, headers)
            except WebhookVerificationError as error:
                record({"verified": False, "error": str(error)})
                self.send_response(401)
                self.end_headers()
                return
            record({"verified": True, "payload": payload, "headers": headers})
            self.send_response(args.answer)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
