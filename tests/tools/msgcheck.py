#!/usr/bin/python3
"""Reads a message the way a receiver does (Python's email package,
policy=default) and prints one fact about it, for the shell tests.

  msgcheck.py header FILE NAME    the decoded header ("<absent>" if none;
                                  one line per occurrence)
  msgcheck.py names FILE          every header name, one per line
  msgcheck.py part FILE text|html the decoded body part, CRLF read as the
                                  line break it is
  msgcheck.py addr FILE NAME      display name and address: "name|addr"
  msgcheck.py raw FILE            "ok" when every line ends in CRLF, none is
                                  over 998 octets and no NUL, bare CR or
                                  bare LF occurs; else what is wrong
  msgcheck.py defects FILE        the parser's defects, "none" if none
"""
import email
import email.policy
import sys


def load(path):
    with open(path, "rb") as fp:
        return email.message_from_bytes(fp.read(), policy=email.policy.default)


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "raw":
        data = open(path, "rb").read()
        problems = []
        if b"\0" in data:
            problems.append("NUL byte")
        body = data.replace(b"\r\n", b"")
        if b"\r" in body or b"\n" in body:
            problems.append("bare CR or LF")
        if not data.endswith(b"\r\n"):
            problems.append("no final CRLF")
        longest = max(len(l) for l in data.split(b"\r\n"))
        if longest > 998:
            problems.append("a line of %d octets" % longest)
        print(", ".join(problems) or "ok")
        return
    msg = load(path)
    if cmd == "header":
        values = msg.get_all(sys.argv[3])
        print("\n".join(str(v) for v in values) if values else "<absent>")
    elif cmd == "names":
        print("\n".join(msg.keys()))
    elif cmd == "addr":
        h = msg[sys.argv[3]]
        a = h.addresses[0]
        print("%s|%s" % (a.display_name, a.addr_spec))
    elif cmd == "part":
        want = "text/" + ("plain" if sys.argv[3] == "text" else "html")
        for part in msg.walk():
            if part.get_content_type() == want:
                sys.stdout.write(part.get_content().replace("\r\n", "\n"))
                return
        print("<no %s part>" % want)
    elif cmd == "defects":
        found = [str(d) for p in msg.walk() for d in p.defects]
        found += [str(d) for d in getattr(msg, "defects", [])]
        for name in msg.keys():
            for v in msg.get_all(name):
                found += [str(d) for d in getattr(v, "defects", [])]
        print("; ".join(found) or "none")


main()
