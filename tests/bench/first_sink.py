#!/usr/bin/python3
"""Time from starting a command to the first message on the wire.

usage: first_sink.py PORT [--timeout S] [--stop-timeout S] -- CMD [ARGS...]

One process, one clock (time.monotonic, CLOCK_MONOTONIC): serves SMTP on
127.0.0.1:PORT (asyncio, standard library only; PIPELINING, 8BITMIME,
SMTPUTF8; every command and message answered 250, so what arrives is
really delivered), notes time.monotonic() just before it starts CMD
(`postbote send ...` whose route points here), and the moment the first
message's final "." arrives. Then it sends CMD SIGTERM (postbote stops
loading, finishes what is on the wire and exits, the rest left pending),
keeps answering until CMD has exited and prints one JSON object:

  first_message_s   start of CMD -> first message's final "."
  first_connect_s   start of CMD -> first TCP connection accepted
  first_mail_s      start of CMD -> first MAIL FROM
  first_data_s      start of CMD -> first DATA
  stop_s            SIGTERM -> CMD exited
  messages          messages received in all (until CMD exited)
  connections       connections accepted in all
  started_utc       wall clock at the start, to read log lines against
  rc                CMD's exit status; stdout: CMD's stdout, parsed as
                    key=value words when it is that

Exits 1 when no message arrived within --timeout (default 120 s) or CMD
exited first, 2 when CMD did not exit within --stop-timeout (default 30 s)
of SIGTERM (it is then killed).
"""
import asyncio
import datetime
import json
import signal
import sys
import time

TERM = b"\r\n.\r\n"
EHLO = (b"250-first-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
        b"250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n")


class State:
    def __init__(self):
        self.t = {}                 # event name -> first monotonic time
        self.messages = 0
        self.connections = 0
        self.first = asyncio.Event()

    def mark(self, name):
        if name not in self.t:
            self.t[name] = time.monotonic()


class Session(asyncio.Protocol):
    def __init__(self, st):
        self.st = st
        self.buf = bytearray()
        self.data = False           # inside DATA
        self.scan = 0               # where the search for TERM goes on

    def connection_made(self, transport):
        self.st.mark("connect")
        self.st.connections += 1
        self.tr = transport
        transport.write(b"220 first-sink ESMTP\r\n")

    def data_received(self, chunk):
        self.buf += chunk
        out = []
        while True:
            if self.data:
                i = self.buf.find(TERM, self.scan)
                if i < 0:
                    # Keep only what could be the start of TERM.
                    if len(self.buf) > 4:
                        del self.buf[:len(self.buf) - 4]
                    self.scan = 0
                    break
                st = self.st
                if st.messages == 0:
                    st.mark("message")
                    st.first.set()
                st.messages += 1
                del self.buf[:i + len(TERM)]
                self.data = False
                out.append(b"250 2.0.0 Ok: queued\r\n")
                continue
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line = bytes(self.buf[:i]).rstrip(b"\r")
            del self.buf[:i + 1]
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                out.append(EHLO if verb == b"EHLO" else b"250 first-sink\r\n")
            elif verb == b"MAIL":
                self.st.mark("mail")
                out.append(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                out.append(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                self.st.mark("data")
                out.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                # The CRLF before the data, so that an empty message's
                # lone "." is found as TERM too.
                self.buf[:0] = b"\r\n"
                self.data = True
                self.scan = 0
            elif verb in (b"RSET", b"NOOP"):
                out.append(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                out.append(b"221 2.0.0 Bye\r\n")
                self.tr.write(b"".join(out))
                self.tr.close()
                return
            else:
                out.append(b"502 5.5.2 Error: command not recognized\r\n")
        if out:
            self.tr.write(b"".join(out))


def parse_kv(text):
    words = text.split()
    if words and all("=" in w for w in words):
        return dict(w.split("=", 1) for w in words)
    return text


async def main(port, cmd, timeout, stop_timeout):
    st = State()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Session(st), "127.0.0.1", port,
                                      backlog=1024)
    res = {"port": port}
    rc = 0
    started_utc = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*cmd,
                                                stdout=asyncio.subprocess.PIPE)
    try:
        out_task = asyncio.ensure_future(proc.stdout.read())
        first = asyncio.ensure_future(st.first.wait())
        exited = asyncio.ensure_future(proc.wait())
        await asyncio.wait({first, exited}, timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if not first.done():
            first.cancel()
            res["error"] = ("the command exited before any message arrived"
                            if exited.done() else
                            "no message within %g s" % timeout)
            rc = 1
        if not exited.done():
            t_stop = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(exited), stop_timeout)
                res["stop_s"] = round(time.monotonic() - t_stop, 3)
            except asyncio.TimeoutError:
                proc.kill()
                await exited
                res["error"] = "no exit within %g s of SIGTERM" % stop_timeout
                rc = 2
        res["rc"] = proc.returncode
        res["stdout"] = parse_kv((await out_task).decode(errors="replace"))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        server.close()
        await server.wait_closed()
    for name in ("connect", "mail", "data", "message"):
        if name in st.t:
            res["first_%s_s" % name] = round(st.t[name] - t0, 3)
    res["messages"] = st.messages
    res["connections"] = st.connections
    res["started_utc"] = started_utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return res, rc


def usage():
    sys.exit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--" not in args or not args or not args[0].isdigit():
        usage()
    cut = args.index("--")
    opts, cmd = args[1:cut], args[cut + 1:]
    timeout, stop_timeout = 120.0, 30.0
    while opts:
        if opts[0] == "--timeout" and len(opts) > 1:
            timeout = float(opts[1])
        elif opts[0] == "--stop-timeout" and len(opts) > 1:
            stop_timeout = float(opts[1])
        else:
            usage()
        opts = opts[2:]
    if not cmd:
        usage()
    res, rc = asyncio.run(main(int(args[0]), cmd, timeout, stop_timeout))
    print(json.dumps(res))
    sys.exit(rc)
