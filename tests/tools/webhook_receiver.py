#!/usr/bin/python3
"""webhook_receiver.py - an HTTP receiver for the webhook tests.

Python 3 standard library only. Listens on a free 127.0.0.1 port, answers
every POST (any path) and saves each request, answered or not, as one JSON
line: {"n", "at" (Unix seconds, float, when the body was read), "method",
"path", "headers" {lower-case name: value}, "body" (text), "status" (the
answer)}.

  webhook_receiver.py --port-file P --requests FILE [options]

  --fail-first N   answer the first N requests with 500 (then --status)
  --status CODE    the answer otherwise (default 200); 3xx carry a
                   Location header pointing at /elsewhere
  --sleep S        wait S seconds before answering each request
  --body TEXT      the answer's body (default "ok", "oops" for a 500)

Runs until SIGTERM or SIGINT. Lines are appended and flushed under a lock,
so a reader sees whole lines only.
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", 0), Handler)
        self.args = args
        self.lock = threading.Lock()
        self.count = 0
        self.out = open(args.requests, "a", encoding="utf-8")


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "webhook_receiver/1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        srv, a = self.server, self.server.args
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        at = time.time()
        with srv.lock:
            srv.count += 1
            k = srv.count
        status = 500 if k <= a.fail_first else a.status
        rec = {"n": k, "at": at, "method": self.command, "path": self.path,
               "headers": {h.lower(): v for h, v in self.headers.items()},
               "body": body, "status": status}
        with srv.lock:
            srv.out.write(json.dumps(rec) + "\n")
            srv.out.flush()
        if a.sleep > 0:
            time.sleep(a.sleep)
        text = (a.body if a.body is not None else
                "oops" if status == 500 else "ok").encode()
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        except OSError:
            pass  # the client gave up (its timeout); nothing to say


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--requests", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--sleep", type=float, default=0)
    p.add_argument("--body")
    args = p.parse_args()
    srv = Receiver(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Written under a temporary name and renamed: a reader never sees
    # half a number.
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
