#!/usr/bin/python3
"""cdp.py - drive headless Chromium over the DevTools protocol, for the
browser tests. Python 3 standard library only.

Chromium's --remote-debugging-pipe reads protocol messages from fd 3 and
writes them to fd 4, each JSON text ended by a NUL byte: no websocket, no
port, no third-party client.

  cdp.py [--chromium PATH] [--accept-language L] click URL SELECTOR

loads URL, describes the page, clicks the element SELECTOR matches with
real mouse events (pressed and released at its centre), waits for the
page that follows and prints one JSON object:

  status        HTTP status of the first page
  lang          <html lang>
  title         document.title
  form_method   the method of the form around the element
  button_name   the element's accessible name and role, from Chromium's
  button_role   accessibility tree
  styled        the inline style sheet applied (the CSP allowed it)
  blocked       console messages about anything the page was refused
                (CSP violations and the like)
  after_status  HTTP status of the page the click led to
  after_method  the request method that fetched it
  after_text    its body text

Exits 1 (with the reason on stderr) when Chromium fails or a step times
out (10 s each).
"""
import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

STEP_S = 10


class CDP:
    """One Chromium and one page session over the pipe."""

    def __init__(self, chromium, extra_args=()):
        self.tmp = tempfile.mkdtemp(prefix="cdp.")
        to_r, self.to_w = os.pipe()     # we write commands, it reads fd 3
        self.from_r, from_w = os.pipe()  # it writes fd 4, we read
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-dev-shm-usage", "--remote-debugging-pipe",
                "--user-data-dir=" + os.path.join(self.tmp, "profile")]
        args += list(extra_args) + ["about:blank"]

        def child():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.tmp, "chromium.err"), "wb"),
            preexec_fn=child, pass_fds=(3, 4))
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.send("Browser.close", session=False, wait=False)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_w)
        os.close(self.from_r)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            r, _, _ = select.select([self.from_r], [], [], left)
            if not r:
                continue
            chunk = os.read(self.from_r, 65536)
            if not chunk:
                raise EOFError("Chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=True, wait=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        if not wait:
            return None
        deadline = time.monotonic() + STEP_S
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, since=0):
        """The first event named method at or after index since."""
        deadline = time.monotonic() + STEP_S
        i = since
        while True:
            while i < len(self.events):
                if self.events[i].get("method") == method:
                    return self.events[i]
                i += 1
            self.events.append(self._read_message(deadline))

    def open_page(self):
        t = self.send("Target.createTarget", {"url": "about:blank"},
                      session=False)
        s = self.send("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True},
                      session=False)
        self.session = s["sessionId"]
        for d in ("Page.enable", "Runtime.enable", "Network.enable",
                  "Log.enable"):
            self.send(d)

    def navigate(self, url):
        mark = len(self.events)
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", mark)
        return mark

    def eval(self, expr):
        r = self.send("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("evaluating %s: %s" %
                               (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def document_response(self, since):
        """Status and method of the main document loaded after since."""
        req = {}
        status = method = None
        for m in self.events[since:]:
            p = m.get("params", {})
            if m.get("method") == "Network.requestWillBeSent" and \
                    p.get("type") == "Document":
                req[p["requestId"]] = p["request"]["method"]
            if m.get("method") == "Network.responseReceived" and \
                    p.get("type") == "Document":
                status = p["response"]["status"]
                method = req.get(p["requestId"])
        return status, method

    def ax_node(self, selector):
        doc = self.send("DOM.getDocument")
        q = self.send("DOM.querySelector",
                      {"nodeId": doc["root"]["nodeId"], "selector": selector})
        ax = self.send("Accessibility.getPartialAXTree",
                       {"nodeId": q["nodeId"], "fetchRelatives": False})
        for n in ax.get("nodes", []):
            if not n.get("ignored"):
                return (n.get("name", {}).get("value"),
                        n.get("role", {}).get("value"))
        return None, None

    def click(self, selector):
        box = self.eval("(() => { const r = document.querySelector(%s)"
                        ".getBoundingClientRect(); return [r.x + r.width / 2,"
                        " r.y + r.height / 2]; })()" % json.dumps(selector))
        mark = len(self.events)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1],
                       "button": "left" if kind != "mouseMoved" else "none",
                       "clickCount": 1 if kind != "mouseMoved" else 0})
        self.wait_event("Page.loadEventFired", mark)
        return mark


def blocked(events):
    out = []
    for m in events:
        if m.get("method") == "Log.entryAdded":
            e = m["params"]["entry"]
            if e.get("level") in ("error", "warning"):
                out.append(e.get("text", ""))
    return out


def click_scenario(o):
    c = CDP(o.chromium)
    try:
        c.open_page()
        if o.accept_language:
            c.send("Network.setExtraHTTPHeaders",
                   {"headers": {"Accept-Language": o.accept_language}})
        mark = c.navigate(o.url)
        r = {}
        r["status"], _ = c.document_response(mark)
        r["lang"] = c.eval("document.documentElement.lang")
        r["title"] = c.eval("document.title")
        r["form_method"] = c.eval(
            "(document.querySelector(%s).form || {}).method || null" %
            json.dumps(o.selector))
        r["button_name"], r["button_role"] = c.ax_node(o.selector)
        r["styled"] = c.eval(
            "getComputedStyle(document.querySelector(%s)).backgroundColor"
            % json.dumps(o.selector)) == "rgb(17, 17, 17)"
        mark2 = c.click(o.selector)
        r["after_status"], r["after_method"] = c.document_response(mark2)
        r["after_text"] = c.eval("document.body.innerText")
        r["after_lang"] = c.eval("document.documentElement.lang")
        r["blocked"] = blocked(c.events)
        print(json.dumps(r))
        return 0
    finally:
        c.close()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--accept-language")
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("click")
    k.add_argument("url")
    k.add_argument("selector")
    o = p.parse_args(argv)
    try:
        return click_scenario(o)
    except (RuntimeError, TimeoutError, EOFError, OSError) as e:
        print("cdp.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
