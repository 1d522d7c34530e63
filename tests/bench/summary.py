#!/usr/bin/python3
"""The benchmarks' summary (run last by tests/bench/run.sh).

usage: summary.py [--since EPOCH] [DIR]

Reads DIR/*.json (default build/bench: foundation, render, send, memory,
feedback, hygiene), prints one table of every target - the figure, the
machine's limit it is compared with (measured in the same run), the
ratio, the target, met or NOT MET - and writes DIR/summary.json with
every figure, ratio and target. A file missing, or a figure missing from
it, is "not measured"; with --since (what run.sh passes: when it
started), a file older than that is from an earlier run and its rows say
"stale". Where a target is absolute (no machine limit), the ratio is the
figure over the target. MB = 10^6 bytes. Always exits 0: the benchmarks
are measurements, not a test.
"""
import datetime
import json
import os
import sys

SOURCES = ("foundation", "render", "send", "memory", "feedback", "hygiene")
MB = 10**6


def load(d, since):
    files, data = {}, {}
    for name in SOURCES:
        path = os.path.join(d, name + ".json")
        info = {"file": path, "present": False, "stale": False}
        try:
            with open(path) as f:
                data[name] = json.load(f)
            info["present"] = True
            mtime = os.path.getmtime(path)
            info["written_utc"] = datetime.datetime.fromtimestamp(
                mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            info["stale"] = since is not None and mtime < since
        except (OSError, ValueError) as e:
            info["error"] = str(e)
        files[name] = info
    return files, data


def get(data, src, key):
    v = data.get(src, {}).get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def n(x):
    """1234567 -> '1,234,567'."""
    return format(int(round(x)), ",")


def targets(data):
    """Every target: a dict per row, figures in their units."""
    rows = []

    def row(id, src, what, figure, fig_text, limit, limit_text, op, goal,
            goal_text, note=None, size=None, wanted=None):
        # op ">=" or "<=". With a machine limit (limit_text), the ratio is
        # figure / limit and goal the factor it must reach; without, the
        # target is absolute: the ratio is figure / goal, against 1.
        if limit_text is None:
            ratio = None if figure is None else figure / goal
            bound = 1
        else:
            ratio = None if figure is None or not limit else figure / limit
            bound = goal
        met = None if ratio is None else (
            ratio >= bound if op == ">=" else ratio <= bound)
        rows.append({
            "id": id, "source": src, "what": what,
            "figure": figure, "figure_text": fig_text if figure is not None else None,
            "limit": limit, "limit_text": limit_text,
            "ratio": None if ratio is None else round(ratio, 3),
            "ratio_of": "target" if limit_text is None else "limit",
            "target": goal, "target_op": op, "target_text": goal_text,
            "met": met, "note": note,
            # measured at another size than the target's (scaled down)
            "scaled": size is not None and size != wanted,
        })

    s = data.get("send", {})
    sn = s.get("recipients")
    cores = s.get("cores")
    each = "%s recipients" % n(sn) if sn else "?"
    rsa, rsa_sign = get(data, "send", "rsa_per_s"), get(data, "send", "openssl_rsa2048_sign_per_s")
    row("rsa_send_vs_openssl_sign", "send",
        "send, DKIM rsa-sha256 2048 (%s)" % each,
        rsa, rsa is not None and "%s msg/s" % n(rsa),
        rsa_sign, "openssl RSA-2048 sign, %s cores: %s/s" % (
            cores, n(rsa_sign) if rsa_sign is not None else "?"),
        ">=", 0.65, ">= 0.65 x limit",
        note="openssl speed -multi on every core, " + (
            "medians of the same rounds" if "per_run" in s else
            "measured once after the rounds"),
        size=sn, wanted=100000)
    ed, src = get(data, "send", "ed25519_per_s"), get(data, "send", "smtp_source_per_s")
    row("ed25519_send_vs_smtp_source", "send",
        "send, DKIM ed25519-sha256 (%s)" % each,
        ed, ed is not None and "%s msg/s" % n(ed),
        src, "smtp-source into smtp-sink: %s/s" % (
            n(src) if src is not None else "?"),
        ">=", 0.75, ">= 0.75 x limit", size=sn, wanted=100000)

    m = data.get("memory", {})
    big, small = m.get("big"), m.get("small")
    big_rss = get(data, "memory", "big_rss_bytes")
    if big_rss is None and get(data, "memory", "big_rss_kib") is not None:
        big_rss = m["big_rss_kib"] * 1024
    small_rss = get(data, "memory", "small_rss_kib")
    small_rss = None if small_rss is None else small_rss * 1024
    mb = lambda b: "%.1f MB" % (b / MB)
    row("rss_big", "memory",
        "send's peak RSS, %s recipients" % (n(big) if big else "?"),
        big_rss, big_rss is not None and mb(big_rss),
        None, None, "<=", 64 * MB, "<= 64 MB", size=big, wanted=10**6)
    row("rss_big_vs_small", "memory",
        "send's peak RSS, %s against %s" % (n(big) if big else "?",
                                             n(small) if small else "?"),
        big_rss, big_rss is not None and mb(big_rss),
        small_rss, "peak RSS at %s: %s" % (
            n(small) if small else "?", mb(small_rss) if small_rss else "?"),
        "<=", 1.2, "<= 1.2 x limit", size=big, wanted=10**6)
    fm = get(data, "memory", "first_message_s")
    fn = m.get("first_message_recipients")
    aud = get(data, "foundation", "audience_all_s")
    note = []
    if get(data, "memory", "first_connect_s") is not None:
        note.append("first connection at %.3f s" % m["first_connect_s"])
    if aud is not None:
        note.append("campaign start alone (foundation, whole list of %s): "
                    "%.2f s" % (n(data["foundation"].get("recipients", 0)), aud))
    row("first_message", "memory",
        "send -> first message on the wire, %s" % (
            n(fn) if fn else "?"),
        fm, fm is not None and "%.3f s" % fm, None, None, "<=", 3, "<= 3 s",
        note="; ".join(note) or None, size=fn, wanted=10**6)

    rr = get(data, "render", "per_second")
    row("render_one_core", "render",
        "renderer alone, one core, tracking on",
        rr, rr is not None and "%s msg/s" % n(rr), None, None, ">=", 20000,
        ">= 20,000 msg/s")

    f = data.get("foundation", {})
    fnr = f.get("recipients")
    imp = get(data, "foundation", "import_s")
    base = get(data, "foundation", "sqlite3_shell_import_s")
    row("import", "foundation",
        "list import, %s recipients (CSV)" % (n(fnr) if fnr else "?"),
        imp, imp is not None and "%.2f s" % imp, None, None, "<=", 20, "< 20 s",
        note=None if base is None else
        "the sqlite3 shell's .import of the same file: %.2f s" % base,
        size=fnr, wanted=10**6)
    for key, what in (("audience_segment_s", "campaign start, a segment"),
                      ("audience_all_s", "campaign start, the whole list")):
        v = get(data, "foundation", key)
        row(key, "foundation", "%s, %s recipients" % (what, n(fnr) if fnr else "?"),
            v, v is not None and "%.2f s" % v, None, None, "<=", 3, "< 3 s",
            size=fnr, wanted=10**6)
    return rows


def others(data):
    """Figures without a target, one line each."""
    out = []
    s = data.get("send", {})
    if "unsigned_per_s" in s and "smtp_source_per_s" in s:
        out.append("send unsigned: %s msg/s, %.3f x smtp-source" % (
            n(s["unsigned_per_s"]), s["unsigned_per_s"] / s["smtp_source_per_s"]))
    if "openssl_ed25519_sign_per_s" in s and s["openssl_ed25519_sign_per_s"]:
        out.append("openssl speed Ed25519 sign, %s cores: %s/s" % (
            s.get("cores"), n(s["openssl_ed25519_sign_per_s"])))
    m = data.get("memory", {})
    if "big_per_s" in m:
        out.append("send of %s (memory run, unsigned): %.1f s, %s msg/s" % (
            n(m["big"]), m["big_seconds"], n(m["big_per_s"])))
    fb = data.get("feedback", {})
    if "opens_per_s" in fb:
        out.append("track serve: %s opens/s, %s forged tokens/s refused; "
                   "bounce ingest: %s DSNs/s" % (n(fb["opens_per_s"]),
                   n(fb["forged_per_s"]), n(fb["dsn_per_s"])))
    h = data.get("hygiene", {})
    if "recipients_per_s" in h:
        out.append("hygiene: %s recipients/s over %s domains (%s/s), "
                   "%s/s without DNS" % (n(h["recipients_per_s"]),
                   n(h["domains"]), n(h["domains_per_s"]),
                   n(h["no_dns_recipients_per_s"])))
    return out


def status(r, files):
    if r["met"] is None:
        s = "not measured"
    else:
        s = "met" if r["met"] else "NOT MET"
    if r["scaled"] and r["met"] is not None:
        s += " (scaled down)"
    if files[r["source"]]["stale"]:
        s += " (stale)"
    return s


def main():
    args = sys.argv[1:]
    since = None
    if args[:1] == ["--since"]:
        if len(args) < 2:
            sys.exit(__doc__.split("\n\n")[1])
        since = float(args[1])
        args = args[2:]
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.exit(__doc__.split("\n\n")[1])
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    d = args[0] if args else os.path.join(top, "build", "bench")

    files, data = load(d, since)
    rows = targets(data)
    for r in rows:
        r["status"] = status(r, files)
        r["stale"] = files[r["source"]]["stale"]

    head = ("what", "figure", "machine limit (same run)", "ratio",
            "target", "")
    table = [head]
    for r in rows:
        table.append((r["what"], r["figure_text"] or "-",
                      r["limit_text"] or "- (absolute target)",
                      "-" if r["ratio"] is None else "%.3f" % r["ratio"],
                      r["target_text"], r["status"]))
    w = [max(len(t[k]) for t in table) for k in range(len(head))]
    print()
    print("Summary of the targets (%s)" % os.path.join(d, "*.json"))
    for i, t in enumerate(table):
        print("  " + "  ".join(
            t[k].rjust(w[k]) if k in (1, 3) else t[k].ljust(w[k])
            for k in range(len(t))).rstrip())
        if i == 0:
            print("  " + "  ".join("-" * x for x in w))
    met = sum(1 for r in rows if r["met"] is True)
    unmet = sum(1 for r in rows if r["met"] is False)
    none = sum(1 for r in rows if r["met"] is None)
    print("  %d met, %d NOT MET, %d not measured" % (met, unmet, none))
    print("  ratio: figure / machine limit, or figure / target where the "
          "target is absolute; MB = 10^6 bytes, so 64 MB = 64,000,000 B "
          "(61.0 MiB)")
    for r in rows:
        if r["note"] and r["met"] is not None:
            print("  %s: %s" % (r["id"], r["note"]))
    missing = [k for k, v in files.items() if not v["present"]]
    stale = [k for k, v in files.items() if v["stale"]]
    if any(r["scaled"] for r in rows):
        print("  scaled down: measured at fewer recipients than the target "
              "is for (send 100,000; memory, first message and foundation "
              "1,000,000)")
    if missing:
        print("  missing: %s" % ", ".join(missing))
    if stale:
        print("  stale (older than this run): %s" % ", ".join(stale))
    rest = others(data)
    if rest:
        print()
        print("Figures without a target")
        for line in rest:
            print("  " + line)

    res = {
        "generated_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "since_utc": None if since is None else datetime.datetime.fromtimestamp(
            since, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "units": {"MB": "10^6 bytes", "rss_big target": "64,000,000 bytes"},
        "met": met, "not_met": unmet, "not_measured": none,
        "targets": rows,
        "sources": files,
        "figures": data,
    }
    path = os.path.join(d, "summary.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print("  figures, ratios and targets: %s" % path)


if __name__ == "__main__":
    main()
