#!/usr/bin/python3
"""smtpd.py - a fault-injecting SMTP server for the delivery tests.

Python 3 standard library only (asyncio and ssl), so it runs wherever the
tests run. It serves RFC 5321 with PIPELINING, SIZE, 8BITMIME,
ENHANCEDSTATUSCODES, SMTPUTF8, STARTTLS (RFC 3207) and AUTH PLAIN/LOGIN
(RFC 4954), saves what it accepts, and misbehaves on request: per-recipient
and per-message rejections, hostile greetings, dropped connections, slow or
oversized or malformed replies, plaintext injected after STARTTLS.

  smtpd.py --listen 127.0.0.1:0 --port-file P --maildir DIR [options]

Runs until SIGTERM or SIGINT, then exits 0 (after writing --stats). A
session that fails (the client hangs up, a handshake fails, a bug here)
ends that session only: one line on stderr, and the others go on.

Output:
  DIR/NNNNNN.eml   one accepted message: the DATA bytes after dot-unstuffing,
                   line ends as received, without the final "."; NNNNNN
                   counts up from the highest number already in DIR
  DIR/NNNNNN.json  its envelope: mail_from, rcpt_to (accepted recipients),
                   helo, tls, tls_version, auth_user, size_param, body_param,
                   smtputf8, session, seq_in_session (the message's place
                   among the DATA transactions of its session), seq, size,
                   mail_at (when its MAIL was accepted) and received_at
                   (when its final dot was read), both Unix time in
                   seconds as floats.
                   Both files are written under a temporary name and
                   renamed, the .json first: a test that sees an .eml can
                   read its .json.
  --log FILE       "S C: line" / "S S: line" for session S, one line per
                   command and per reply line; "S --: text" for events
                   (connect, TLS, faults, disconnect). AUTH payloads are
                   "***"; message data is one "C: <DATA n octets>" line.
  --stats FILE     on exit: sessions (connections accepted, refused ones
                   included), messages (accepted), rcpt_rejected,
                   max_concurrent (connections open at once, refused ones
                   included), data_rejected.

"The N-th message overall" (--drop-mid-data, --drop-every, --drop-after-dot)
counts every DATA that got 354, across sessions, from 1; --throttle-first
counts MAIL commands across sessions the same way, and --rate-limit the MAIL
commands it accepted, across sessions, in the last SEC seconds. The DATA
terminator is only CRLF "." CRLF (RFC 5321 4.1.1.4; bare LF is accepted in command lines).
"""
import argparse
import asyncio
import base64
import collections
import json
import os
import re
import signal
import ssl
import sys
import time
import traceback

MAX_LINE = 65536  # a command line longer than this is refused
READ_CHUNK = 262144
HUGE_SIZE = 1 << 30  # message cap when --size 0 announces none
LOG_LINES_MAX = 40  # a longer reply is logged abbreviated


class Drop(Exception):
    """End the session now without another word: closed after the replies
    owed (QUIT, a 421), or abruptly (a fault), the socket reset."""

    def __init__(self, abrupt=False):
        super().__init__()
        self.abrupt = abrupt


class AuthCancel(Exception):
    """The client answered a 334 with "*"."""


class Peer(Exception):
    """The client went away; expected, so no traceback."""


def reply_arg(text):
    """argparse type for 'CODE TEXT'."""
    if not re.match(r"^[2-5]\d\d( |$)", text):
        raise argparse.ArgumentTypeError("want 'CODE TEXT', got %r" % text)
    return text


def rule_arg(text):
    """argparse type for 'REGEX=CODE TEXT': the last '=' before a code."""
    m = re.match(r"^(.*)=([2-5]\d\d(?: .*)?)$", text, re.S)
    if not m:
        raise argparse.ArgumentTypeError("want REGEX=CODE TEXT, got %r" % text)
    try:
        return re.compile(m.group(1), re.I), m.group(2)
    except re.error as e:
        raise argparse.ArgumentTypeError("bad regex %r: %s" % (m.group(1), e))


def rate_arg(text):
    n, sep, sec = text.partition("/")
    try:
        n, sec = int(n), float(sec)
    except ValueError:
        n = 0
    if not sep or n < 1 or sec <= 0:
        raise argparse.ArgumentTypeError("want N/SEC, e.g. 5/1")
    return n, sec


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a = p.add_argument
    a("--listen", default="127.0.0.1:0", metavar="HOST:PORT",
      help="address to bind; port 0 picks a free one")
    a("--port-file", metavar="FILE", help="write the bound port here")
    a("--pid-file", metavar="FILE", help="write the process id here")
    a("--maildir", metavar="DIR", help="save accepted messages here")
    a("--log", metavar="FILE", help="session transcript")
    a("--stats", metavar="FILE", help="counters as JSON, written on exit")
    a("--hostname", default="mx.test", help="name in the greeting and EHLO")
    a("--size", type=int, default=10485760, metavar="N",
      help="SIZE limit announced and enforced; 0 announces plain SIZE")
    a("--no-smtputf8", action="store_true", help="do not offer SMTPUTF8")
    a("--no-pipelining", action="store_true", help="do not offer PIPELINING")
    a("--no-8bitmime", action="store_true", help="do not offer 8BITMIME")
    a("--no-esmtp", action="store_true", help="EHLO gets 502: HELO only")
    a("--cert", metavar="FILE", help="certificate (PEM) for TLS")
    a("--key", metavar="FILE", help="its private key (PEM)")
    a("--implicit-tls", action="store_true", help="TLS from the first byte")
    a("--user", help="AUTH user name")
    a("--password", help="AUTH password")
    a("--auth-plaintext", action="store_true", help="offer AUTH before TLS")
    a("--require-auth", action="store_true", help="MAIL before AUTH gets 530")
    a("--timeout", type=float, default=120, metavar="SEC",
      help="idle time before the server gives up on a client")
    f = p.add_argument_group("faults")
    a = f.add_argument
    a("--rcpt-rule", type=rule_arg, action="append", default=[],
      metavar="REGEX=REPLY", help="a matching RCPT gets REPLY")
    a("--data-rule", type=rule_arg, action="append", default=[],
      metavar="REGEX=REPLY",
      help="end of DATA gets REPLY if an accepted recipient matches")
    a("--greeting", type=reply_arg, metavar="'CODE TEXT'",
      help="instead of 220: 421 closes, other refusals answer 503")
    a("--ehlo-reply", type=reply_arg, metavar="'CODE TEXT'",
      help="the one-line reply to EHLO")
    a("--max-messages-per-session", type=int, default=0, metavar="K",
      help="the MAIL after K messages gets 421 and the session ends")
    a("--max-connections", type=int, default=0, metavar="N",
      help="a connection beyond N open ones gets a 421 greeting")
    a("--drop-mid-data", type=int, default=0, metavar="N",
      help="reset the connection inside message N's data")
    a("--drop-every", type=int, default=0, metavar="K",
      help="reset the connection inside the data of every K-th message")
    a("--drop-after-dot", type=int, default=0, metavar="N",
      help="reset the connection after message N's dot, no reply")
    a("--tarpit-ms", type=int, default=0, metavar="MS",
      help="wait MS before every reply")
    a("--greylist", action="store_true",
      help="the first RCPT of each address (any case, any session) gets "
      "451 4.7.1; later ones pass")
    a("--throttle-first", type=int, default=0, metavar="N",
      help="the first N MAIL commands overall get 421 4.7.0 (rate "
      "limited) and their session ends")
    a("--rate-limit", type=rate_arg, metavar="N/SEC",
      help="a MAIL beyond N accepted in the last SEC seconds (all "
      "sessions) gets 450 4.7.0; the session goes on")
    a("--huge-reply", type=int, default=0, metavar="N",
      help="an N-line 250 to a session's first RCPT")
    a("--starttls-reply", type=reply_arg, metavar="'CODE TEXT'",
      help="refuse STARTTLS with this")
    a("--starttls-inject", metavar="TEXT",
      help="send TEXT CRLF in plaintext right after STARTTLS's 220")
    a("--tls-break", action="store_true",
      help="garbage instead of a TLS handshake after STARTTLS's 220")
    a("--continuation-code-change", action="store_true",
      help="EHLO reply lines after the first say 251")
    o = p.parse_args(argv)
    if bool(o.cert) != bool(o.key):
        p.error("--cert and --key go together")
    if o.implicit_tls and not o.cert:
        p.error("--implicit-tls needs --cert and --key")
    if bool(o.user) != bool(o.password):
        p.error("--user and --password go together")
    host, sep, port = o.listen.rpartition(":")
    if not sep or not port.isdigit():
        p.error("--listen wants HOST:PORT")
    o.host, o.port = host.strip("[]") or "127.0.0.1", int(port)
    return o


def write_atomic(path, data):
    """Write under a temporary name and rename, so a reader never sees half."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as fp:
        fp.write(data)
    os.rename(tmp, path)


def show(b):
    """Bytes as one printable log line: controls and bad UTF-8 escaped."""
    text = b.decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()),
                  text)


class Server:
    """What the sessions share: options, counters, the maildir, the log."""

    def __init__(self, opt):
        self.opt = opt
        self.sessions = 0
        self.active = 0
        self.max_concurrent = 0
        self.messages = 0  # accepted
        self.data_rejected = 0
        self.rcpt_rejected = 0
        self.data_count = 0  # DATA commands answered 354
        self.mail_count = 0  # MAIL commands seen by --throttle-first
        self.mail_times = collections.deque()  # accepted, for --rate-limit
        self.greylisted = set()  # addresses, lower case, seen once
        self.tasks = set()
        self.seq = 0
        if opt.maildir:
            os.makedirs(opt.maildir, exist_ok=True)
            for n in os.listdir(opt.maildir):
                m = re.match(r"^(\d+)\.eml$", n)
                if m:
                    self.seq = max(self.seq, int(m.group(1)))
        self.log_fp = open(opt.log, "a", encoding="utf-8") if opt.log else None
        self.ctx = None
        if opt.cert:
            self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ctx.load_cert_chain(opt.cert, opt.key)

    def log(self, sid, kind, text):
        if self.log_fp:
            self.log_fp.write("%d %s: %s\n" % (sid, kind, text))

    def flush_log(self):
        if self.log_fp:
            self.log_fp.flush()

    def save(self, body, envelope):
        self.seq += 1
        envelope["seq"] = self.seq
        if self.opt.maildir:
            base = os.path.join(self.opt.maildir, "%06d" % self.seq)
            write_atomic(base + ".json", json.dumps(
                envelope, ensure_ascii=False).encode() + b"\n")
            write_atomic(base + ".eml", body)
        return self.seq

    def stats(self):
        return {"sessions": self.sessions, "messages": self.messages,
                "rcpt_rejected": self.rcpt_rejected,
                "max_concurrent": self.max_concurrent,
                "data_rejected": self.data_rejected}

    async def accept(self, reader, writer):
        task = asyncio.current_task()
        self.tasks.add(task)
        self.sessions += 1
        self.active += 1
        self.max_concurrent = max(self.max_concurrent, self.active)
        try:
            await Session(self, self.sessions, reader, writer).run()
        finally:
            self.tasks.discard(task)


class Session:
    def __init__(self, srv, sid, reader, writer):
        self.srv, self.opt, self.sid = srv, srv.opt, sid
        self.reader, self.writer = reader, writer
        self.buf = bytearray()  # read, not yet parsed
        self.out = []  # replies not yet written
        self.tls_version = None
        self.greeting_refused = False  # after a 4xx/5xx greeting
        self.helo = None
        self.esmtp = False
        self.auth_user = None
        self.transactions = 0  # DATA transactions ended
        self.huge_done = False
        self.received_at = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.mail_at = None
        self.params = {}
        self.rcpt_to = []
        self.rcpt_tried = 0

    def log(self, kind, text):
        self.srv.log(self.sid, kind, text)

    # --- I/O ----------------------------------------------------------------

    async def reply(self, *lines):
        """Queue a reply; lines[0..-1] go out as "CODE-" continuations.
        Replies are written when the client has nothing more pipelined
        (flush), as Postfix does, so a pipelined group gets one packet."""
        if self.opt.tarpit_ms:
            await self.flush()
            await asyncio.sleep(self.opt.tarpit_ms / 1000)
        if len(lines) == 1:
            out = [lines[0]]
        else:
            out = [ln[:3] + "-" + ln[4:] for ln in lines[:-1]] + [lines[-1]]
        self.log_reply(out)
        self.out.append("".join(ln + "\r\n" for ln in out).encode())

    def log_reply(self, out):
        if len(out) > LOG_LINES_MAX:
            out = out[:3] + ["... (%d lines)" % len(out)] + out[-1:]
        for ln in out:
            self.log("S", ln)

    async def flush(self):
        self.srv.flush_log()
        if self.out:
            # asyncio drops writes to a lost connection with a warning
            if self.writer.transport.is_closing():
                raise Peer("connection lost")
            self.writer.write(b"".join(self.out))
            self.out = []
            try:
                await self.writer.drain()
            except OSError as e:
                raise Peer(str(e) or type(e).__name__)

    async def fill(self):
        """Read more into self.buf, first writing the replies owed."""
        try:
            await self.flush()
            chunk = await asyncio.wait_for(self.reader.read(READ_CHUNK),
                                           self.opt.timeout)
        except asyncio.TimeoutError:
            self.log("--", "timeout")
            await self.reply("421 4.4.2 %s Error: timeout exceeded"
                             % self.opt.hostname)
            await self.flush()
            raise Drop()
        except OSError as e:  # resets, TLS errors
            raise Peer(str(e) or type(e).__name__)
        if not chunk:
            raise Peer("end of file")
        self.buf += chunk

    async def readline(self):
        """One line without its CRLF (or bare LF)."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > MAX_LINE:
                await self.skip_long_line()
                continue
            await self.fill()

    async def skip_long_line(self):
        self.log("C", "<line over %d octets>" % MAX_LINE)
        while self.buf.find(b"\n") < 0:
            self.buf.clear()
            await self.fill()
        del self.buf[:self.buf.find(b"\n") + 1]
        await self.reply("500 5.5.2 Error: line too long")

    async def read_data(self, limit):
        """The message after 354, dot-unstuffed, up to and without the
        terminating line "."; None when it outgrew limit (the rest was
        read and thrown away). RFC 5321 4.5.2."""
        got, over, scan = 0, False, 0
        while True:
            if self.buf.startswith(b".\r\n") and got == 0:
                del self.buf[:3]
                return b""
            i = self.buf.find(b"\r\n.\r\n", scan)
            if i >= 0:
                body = bytes(self.buf[:i + 2])
                del self.buf[:i + 5]
                if over or got + len(body) > limit:
                    return None
                if body.startswith(b"."):
                    body = body[1:]
                return body.replace(b"\r\n.", b"\r\n")
            if len(self.buf) > limit:
                # keep the tail: the terminator may straddle reads
                got += len(self.buf) - 4
                del self.buf[:-4]
                over = True
            scan = max(0, len(self.buf) - 4)
            await self.fill()

    # --- the session --------------------------------------------------------

    async def run(self):
        peer = self.writer.get_extra_info("peername")
        ssl_obj = self.writer.get_extra_info("ssl_object")
        if ssl_obj:
            self.tls_version = ssl_obj.version()
        self.log("--", "connect from %s%s" % (
            peer[0] if peer else "?",
            " over %s" % self.tls_version if ssl_obj else ""))
        abrupt = True
        try:
            await self.serve()
        except Drop as e:
            abrupt = e.abrupt
        except Peer as e:
            self.log("--", "client gone: %s" % e)
        except asyncio.CancelledError:
            self.log("--", "server stopping")
        except Exception:
            print("smtpd: session %d:" % self.sid, file=sys.stderr)
            traceback.print_exc()
            self.log("--", "internal error (see stderr)")
        self.log("--", "closed")
        self.srv.flush_log()
        # counted out before the last reply leaves, so a client that has
        # read a 421 can reconnect at once under --max-connections
        self.srv.active -= 1
        await self.close(abrupt)

    async def close(self, abrupt):
        """Write what is owed and close, or reset the connection."""
        if abrupt:
            self.writer.transport.abort()
            return
        try:
            await asyncio.wait_for(self.flush(), 2)
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (Exception, asyncio.CancelledError):
            self.writer.transport.abort()

    async def serve(self):
        opt = self.opt
        if opt.max_connections and self.srv.active > opt.max_connections:
            await self.reply("421 4.7.0 %s Too many connections"
                             % opt.hostname)
            raise Drop()
        if opt.greeting:
            await self.reply(opt.greeting)
            if opt.greeting.startswith("421"):
                raise Drop()
            self.greeting_refused = not opt.greeting.startswith("2")
        else:
            await self.reply("220 %s ESMTP Postbote test server"
                             % opt.hostname)
        while True:
            line = await self.readline()
            verb, _, arg = line.partition(b" ")
            verb = verb.upper().decode("ascii", "replace")
            if verb == "AUTH":
                words = arg.split()
                self.log("C", " ".join(["AUTH"] + [show(w) for w in words[:1]]
                                       + ["***"] * (len(words) > 1)))
            elif self.srv.log_fp:
                self.log("C", show(line))
            if self.greeting_refused and verb != "QUIT":
                await self.reply("503 5.5.1 Error: access denied")
                continue
            handler = getattr(self, "cmd_" + verb, None)
            if handler is None or not verb.isalpha():
                await self.reply("500 5.5.2 Error: command not recognized")
                continue
            await handler(arg.strip(b" ").decode("utf-8", "backslashreplace"))

    def capabilities(self):
        opt = self.opt
        caps = []
        if not opt.no_pipelining:
            caps.append("PIPELINING")
        caps.append("SIZE %d" % opt.size if opt.size else "SIZE")
        if not opt.no_8bitmime:
            caps.append("8BITMIME")
        caps.append("ENHANCEDSTATUSCODES")
        if not opt.no_smtputf8:
            caps.append("SMTPUTF8")
        if self.srv.ctx and not self.tls_version:
            caps.append("STARTTLS")
        if opt.user and (self.tls_version or opt.auth_plaintext):
            caps.append("AUTH PLAIN LOGIN")
        return caps

    async def cmd_EHLO(self, arg):
        if not arg:
            await self.reply("501 5.5.4 Syntax: EHLO hostname")
            return
        if self.opt.ehlo_reply:
            ok = self.opt.ehlo_reply.startswith("2")
            if ok:
                self.helo, self.esmtp = arg, True
                self.reset()
            await self.reply(self.opt.ehlo_reply)
            return
        if self.opt.no_esmtp:
            await self.reply("502 5.5.1 Error: command not implemented")
            return
        self.helo, self.esmtp = arg, True
        self.reset()
        lines = ["250 " + self.opt.hostname] + \
            ["250 " + c for c in self.capabilities()]
        if self.opt.continuation_code_change:
            # RFC 5321 4.2.1: every line of a reply has one code
            lines = lines[:1] + ["251" + ln[3:] for ln in lines[1:]]
        await self.reply(*lines)

    async def cmd_HELO(self, arg):
        if not arg:
            await self.reply("501 5.5.4 Syntax: HELO hostname")
            return
        self.helo, self.esmtp = arg, False
        self.reset()
        await self.reply("250 " + self.opt.hostname)

    async def cmd_NOOP(self, arg):
        await self.reply("250 2.0.0 Ok")

    async def cmd_RSET(self, arg):
        self.reset()
        await self.reply("250 2.0.0 Ok")

    async def cmd_VRFY(self, arg):
        await self.reply("252 2.0.0 Cannot VRFY user, but will accept message")

    async def cmd_QUIT(self, arg):
        await self.reply("221 2.0.0 Bye")
        raise Drop()

    async def cmd_STARTTLS(self, arg):
        opt = self.opt
        if not self.srv.ctx:
            await self.reply("502 5.5.1 Error: command not implemented")
            return
        if self.tls_version:
            await self.reply("503 5.5.1 Error: TLS already active")
            return
        if arg:
            await self.reply("501 5.5.4 Syntax: STARTTLS")
            return
        if opt.starttls_reply:
            await self.reply(opt.starttls_reply)
            return
        await self.reply("220 2.0.0 Ready to start TLS")
        if opt.starttls_inject is not None:
            self.log("--", "injecting plaintext after 220 (--starttls-inject)")
            self.log("S", opt.starttls_inject)
            self.out.append(opt.starttls_inject.encode() + b"\r\n")
        await self.flush()
        if opt.tls_break:
            self.log("--", "garbage instead of a TLS handshake (--tls-break)")
            self.writer.write(b"\x80\x00garbage, not TLS\r\n\xff\xfe\x00")
            await self.writer.drain()
            raise Drop()
        await self.start_tls()

    async def start_tls(self):
        # RFC 3207 5: plaintext the client sent after STARTTLS is not
        # part of the TLS session. The loop has not run since the 220
        # went out (a small write's drain does not yield), so all the
        # stream holds, in self.buf and in StreamReader's private buffer,
        # was sent before the client could have read the 220.
        pending = len(self.buf) + len(getattr(self.reader, "_buffer", b""))
        if pending:
            self.log("--", "discarded %d octets sent after STARTTLS" % pending)
        self.buf.clear()
        getattr(self.reader, "_buffer", bytearray()).clear()
        try:
            await self.writer.start_tls(self.srv.ctx)
        except OSError as e:  # resets, TLS alerts, handshake timeout
            raise Peer("TLS handshake: %s" % e)
        self.tls_version = self.writer.get_extra_info("ssl_object").version()
        self.log("--", "TLS %s" % self.tls_version)
        # RFC 3207 4.2: forget everything learned before TLS
        self.helo, self.esmtp, self.auth_user = None, False, None
        self.reset()

    # --- AUTH (RFC 4954) ----------------------------------------------------

    async def cmd_AUTH(self, arg):
        opt = self.opt
        if not opt.user:
            await self.reply("503 5.5.1 Error: authentication not enabled")
            return
        if not self.esmtp:
            await self.reply("503 5.5.1 Error: send EHLO first")
            return
        if not (self.tls_version or opt.auth_plaintext):
            await self.reply("538 5.7.11 Encryption required for "
                             "requested authentication mechanism")
            return
        if self.auth_user is not None:
            await self.reply("503 5.5.1 Error: already authenticated")
            return
        if self.mail_from is not None:
            await self.reply("503 5.5.1 Error: MAIL transaction in progress")
            return
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        try:
            if mech == "PLAIN":
                ok, user = await self.auth_plain(initial.strip())
            elif mech == "LOGIN":
                ok, user = await self.auth_login(initial.strip())
            else:
                await self.reply("504 5.5.4 Unrecognized authentication type")
                return
        except ValueError:
            await self.reply("501 5.5.2 Cannot decode response")
            return
        except AuthCancel:
            await self.reply("501 5.7.0 Authentication aborted")
            return
        if ok:
            self.auth_user = user
            self.log("--", "authenticated as %s" % user)
            await self.reply("235 2.7.0 Authentication successful")
        else:
            await self.reply("535 5.7.8 Authentication credentials invalid")

    async def challenge(self, text):
        await self.reply("334 " + text)
        line = await self.readline()
        self.log("C", "***")
        if line.strip() == b"*":
            raise AuthCancel()
        return line.strip()

    @staticmethod
    def b64(data):
        if data in ("=", b"="):
            return b""
        return base64.b64decode(data, validate=True)

    async def auth_plain(self, initial):
        data = initial or await self.challenge("")
        parts = self.b64(data).split(b"\0")
        if len(parts) != 3:
            raise ValueError()
        user, password = parts[1], parts[2]
        return self.check_password(user, password)

    async def auth_login(self, initial):
        user = self.b64(initial or await self.challenge("VXNlcm5hbWU6"))
        password = self.b64(await self.challenge("UGFzc3dvcmQ6"))
        return self.check_password(user, password)

    def check_password(self, user, password):
        u = user.decode("utf-8", "replace")
        return (u == self.opt.user and
            password == self.opt.password.encode()), u

    # --- the mail transaction -----------------------------------------------

    @staticmethod
    def path(arg, prefix):
        """'FROM:<a@b> PARAMS' -> ('a@b', {PARAM: value}) or None."""
        m = re.match(r"^%s:\s*<([^<>]*)>(.*)$" % prefix, arg, re.I)
        if not m:
            return None
        params = {}
        for p in m.group(2).split():
            k, eq, v = p.partition("=")
            params[k.upper()] = v if eq else True
        return m.group(1), params

    async def cmd_MAIL(self, arg):
        opt = self.opt
        if self.helo is None:
            await self.reply("503 5.5.1 Error: send HELO/EHLO first")
            return
        if self.mail_from is not None:
            await self.reply("503 5.5.1 Error: nested MAIL command")
            return
        if opt.require_auth and self.auth_user is None:
            await self.reply("530 5.7.0 Authentication required")
            return
        if opt.throttle_first:
            self.srv.mail_count += 1
            if self.srv.mail_count <= opt.throttle_first:
                self.log("--", "MAIL %d of the first %d refused "
                         "(--throttle-first)" % (self.srv.mail_count,
                                                 opt.throttle_first))
                await self.reply("421 4.7.0 %s Error: rate limited, "
                                 "slow down" % opt.hostname)
                raise Drop()
        if (opt.max_messages_per_session and
            self.transactions >= opt.max_messages_per_session):
            await self.reply("421 4.7.0 %s Too many messages" % opt.hostname)
            raise Drop()
        parsed = self.path(arg, "FROM")
        if parsed is None:
            await self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        addr, params = parsed
        bad = self.check_params(params)
        if bad:
            await self.reply(bad)
            return
        if not addr.isascii() and "SMTPUTF8" not in params:
            await self.reply("553 5.6.7 Non-ASCII address needs SMTPUTF8")
            return
        if opt.rate_limit and not await self.rate_ok():
            return
        self.mail_from, self.params = addr, params
        self.mail_at = time.time()
        await self.reply("250 2.1.0 Ok")

    async def rate_ok(self):
        """--rate-limit: True (and counted) when this MAIL fits the window,
        else False once the 450 is sent; the session goes on."""
        n, sec = self.opt.rate_limit
        now, seen = time.monotonic(), self.srv.mail_times
        while seen and seen[0] <= now - sec:
            seen.popleft()
        if len(seen) >= n:
            self.log("--", "MAIL over %d in %g s refused (--rate-limit)"
                     % (n, sec))
            await self.reply("450 4.7.0 %s Error: too many messages, rate "
                             "limit exceeded; try again later"
                             % self.opt.hostname)
            return False
        seen.append(now)
        return True

    def check_params(self, params):
        """The reply refusing MAIL's parameters, or None."""
        opt = self.opt
        if params and not self.esmtp:
            return "555 5.5.4 MAIL parameters need EHLO"
        for k, v in params.items():
            if k == "SIZE":
                if v is True or not v.isdigit():
                    return "501 5.5.4 Bad SIZE parameter"
                if opt.size and int(v) > opt.size:
                    return "552 5.3.4 Message size exceeds fixed limit"
            elif k == "BODY":
                b = v.upper() if v is not True else ""
                if b not in ("7BIT", "8BITMIME") or \
                    (b == "8BITMIME" and opt.no_8bitmime):
                    return "555 5.5.4 Unsupported BODY parameter"
            elif k == "SMTPUTF8":
                if v is not True or opt.no_smtputf8:
                    return "555 5.5.4 SMTPUTF8 not supported"
            else:
                return "555 5.5.4 Unsupported parameter %s" % k
        return None

    async def cmd_RCPT(self, arg):
        if self.mail_from is None:
            await self.reply("503 5.5.1 Error: need MAIL command")
            return
        parsed = self.path(arg, "TO")
        if parsed is None or not parsed[0]:
            await self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        addr, params = parsed
        if params:
            await self.reply("555 5.5.4 Unsupported RCPT parameters")
            return
        self.rcpt_tried += 1
        if not addr.isascii() and "SMTPUTF8" not in self.params:
            self.srv.rcpt_rejected += 1
            await self.reply("553 5.6.7 Non-ASCII address needs SMTPUTF8")
            return
        for rx, rep in self.opt.rcpt_rule:
            if rx.search(addr):
                if not rep.startswith("2"):
                    self.srv.rcpt_rejected += 1
                    await self.reply(rep)
                    return
                self.rcpt_to.append(addr)
                await self.reply(rep)
                return
        if self.opt.greylist and addr.lower() not in self.srv.greylisted:
            self.srv.greylisted.add(addr.lower())
            self.srv.rcpt_rejected += 1
            self.log("--", "greylisting %s (--greylist)" % addr)
            await self.reply("451 4.7.1 <%s>: Recipient address rejected: "
                             "Greylisted, come back later" % addr)
            return
        self.rcpt_to.append(addr)
        if self.opt.huge_reply and not self.huge_done:
            self.huge_done = True
            n = self.opt.huge_reply
            await self.reply(*["250 2.1.5 huge reply line %d of %d" % (i, n)
                               for i in range(1, n)], "250 2.1.5 ok")
            return
        await self.reply("250 2.1.5 Ok")

    async def cmd_DATA(self, arg):
        opt, srv = self.opt, self.srv
        if self.mail_from is None:
            await self.reply("503 5.5.1 Error: need MAIL command")
            return
        if not self.rcpt_to:
            # all refused, or none given
            await self.reply("554 5.5.1 Error: no valid recipients"
                             if self.rcpt_tried else
                             "503 5.5.1 Error: need RCPT command")
            return
        srv.data_count += 1
        nth = srv.data_count
        await self.reply("354 End data with <CR><LF>.<CR><LF>")
        if (opt.drop_mid_data == nth or
                (opt.drop_every and nth % opt.drop_every == 0)):
            await self.flush()
            if not self.buf:
                await self.fill()
            self.log("--", "dropping the connection mid-DATA (--drop-mid-data)")
            raise Drop(abrupt=True)
        limit = opt.size or HUGE_SIZE
        body = await self.read_data(limit)
        self.received_at = time.time()
        self.transactions += 1
        self.log("C", "<DATA %s octets>"
                 % (len(body) if body is not None else "over %d" % limit))
        if opt.drop_after_dot == nth:
            self.log("--", "closing without a reply (--drop-after-dot)")
            raise Drop(abrupt=True)
        rep = self.data_verdict(body)
        if rep is None:
            seq = srv.save(body, self.envelope(len(body)))
            srv.messages += 1
            rep = "250 2.0.0 Ok: queued as %d" % seq
        else:
            srv.data_rejected += 1
        self.reset()
        await self.reply(rep)

    def data_verdict(self, body):
        """The reply refusing the message, or None to accept it."""
        if body is None:
            return "552 5.3.4 Message size exceeds fixed limit"
        for rx, rep in self.opt.data_rule:
            if any(rx.search(r) for r in self.rcpt_to):
                return rep
        return None

    def envelope(self, size):
        p = self.params
        sz = p.get("SIZE")
        body = p.get("BODY")
        return {"mail_from": self.mail_from, "rcpt_to": self.rcpt_to,
            "helo": self.helo, "tls": self.tls_version is not None,
            "tls_version": self.tls_version, "auth_user": self.auth_user,
            "size_param": int(sz) if isinstance(sz, str) else None,
            "body_param": body if isinstance(body, str) else None,
            "smtputf8": "SMTPUTF8" in p, "session": self.sid,
            "seq_in_session": self.transactions, "size": size,
            "mail_at": self.mail_at, "received_at": self.received_at}


async def main(opt):
    srv = Server(opt)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(
        srv.accept, opt.host, opt.port, limit=READ_CHUNK * 4,
        ssl=srv.ctx if opt.implicit_tls else None, backlog=512)
    port = server.sockets[0].getsockname()[1]
    if opt.pid_file:
        write_atomic(opt.pid_file, b"%d\n" % os.getpid())
    if opt.port_file:
        write_atomic(opt.port_file, b"%d\n" % port)
    await stop.wait()
    server.close()
    for t in list(srv.tasks):
        t.cancel()
    if srv.tasks:
        await asyncio.wait(list(srv.tasks), timeout=2)
    if opt.stats:
        write_atomic(opt.stats, json.dumps(srv.stats()).encode() + b"\n")
    if srv.log_fp:
        srv.log_fp.close()


if __name__ == "__main__":
    opt = parse_args(sys.argv[1:])
    try:
        asyncio.run(main(opt))
    except OSError as e:
        sys.exit("smtpd: %s" % e)
    sys.exit(0)
