"""Hostile-input drill: fuzz the whole API over HTTP, then try the nasty inputs by hand.

1. Escaping: a pact whose title, description, names, check-in note and dispute reason
   carry HTML and SQL is created through the API; the Mini App pages (as htmx loads
   them) and every bot message about it must show it escaped, and the API must return
   it byte for byte (the SQL stayed data).
2. Refusals, with a fingerprint of every product table before and after (must match):
   forged / tampered / expired / other-bot initData, JWTs with `alg: none`, a wrong key,
   HS512, or expired; a stranger's every read and action on someone else's pact and
   settlement (API and Mini App); the partner doing the initiator's check-in; bodies
   over the limit, invalid UTF-8, deeply nested JSON, huge page offsets and limits.
   Each must be a 4xx (and never show the pact's data).
3. schemathesis over the whole OpenAPI schema against gunicorn, signed in as the
   initiator and partner (with the pact's real ids) and as a stranger (generated ids):
   at least 2 000 cases, no 5xx (`not_a_server_error`). The rate limiter is off for
   this part only, so 429s do not hide the handlers.
Finally the server log must hold no 5xx and no traceback.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import socket
import subprocess
import sys
import time
from urllib.parse import quote, urlsplit

from drills import common

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"
SQL = "' OR '1'='1'; DROP TABLE pacts; --"
TITLE = f"{XSS} {SQL}"[:255]
RAW_MARKERS = ("<script>alert", "<img src=x")


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def raw_post(url: str, token: str, body: bytes) -> int:
    """POST a body the server may refuse before reading it all; the status it answered
    (0 if none). urllib gives up with "broken pipe" when the server closes early."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        try:
            sock.sendall(head.encode())
            sock.sendall(body)
        except OSError:
            pass
        try:
            first = sock.recv(4096).decode(errors="replace")
        except OSError:
            return 0
    found = re.match(r"HTTP/1\.[01] (\d{3})", first)
    return int(found.group(1)) if found else 0


def make_people():
    from pacts.models import User

    base = int(time.time() * 1000) % 10**9 * 100 + 50
    make = User.objects.create_user
    alex = make(telegram_user_id=base, display_name=f"Alex {XSS}", timezone=common.zone_with_room())
    sam = make(telegram_user_id=base + 1, display_name=f"Sam {SQL}", timezone=alex.timezone)
    eve = make(telegram_user_id=base + 2, display_name="Eve", timezone=alex.timezone)
    return alex, sam, eve


def escaping(server, outcome, alex, sam, tokens):
    """Create the hostile pact over HTTP; check it renders escaped everywhere."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from habitpact.testing import sign_init_data, tg_user
    from outbox.models import OutboxMessage
    from telegram_bot.messages import render

    api = f"{server.url}/api/v1"
    today = datetime.now(ZoneInfo(alex.timezone)).date().isoformat()
    status, body = common.http("POST", f"{api}/pacts", token=tokens["alex"], body={
        "title": TITLE, "description": f"{SQL}\n{XSS}", "stake_amount": 500, "currency": "GBP",
        "schedule_days": [True] * 7, "deadline_time": "23:59", "start_date": today,
    })  # fmt: skip
    assert status == 201, (status, body)
    pact_id = body["pact"]["id"]
    assert common.http("POST", f"{api}/pacts/{pact_id}/accept", token=tokens["sam"])[0] == 200
    day = f"{api}/pacts/{pact_id}/days/{today}"
    note = {"note": f"{XSS} {SQL}", "idempotency_key": "hostile-1"}
    assert common.http("POST", f"{day}/checkin", token=tokens["alex"], body=note)[0] == 200
    reason = {"reason": f"{SQL} {XSS}"}
    assert common.http("POST", f"{day}/dispute", token=tokens["sam"], body=reason)[0] == 200
    status, detail = common.http("GET", f"{api}/pacts/{pact_id}", token=tokens["alex"])
    outcome.expect(detail["pact"]["title"] == TITLE, "the API returns the title byte for byte")

    pages = ["/", f"/pacts/{pact_id}", f"/pacts/{pact_id}/days/{today}",
             f"/pacts/{pact_id}/history", f"/pacts/{pact_id}/settings"]  # fmt: skip
    raw_pages, escaped_pages = [], 0
    for user in (alex, sam):
        headers = {"Authorization": f"tma {sign_init_data(tg_user(user))}", "HX-Request": "true"}
        for page in pages:
            status, html = common.http("GET", server.url + page, headers=headers)
            if status != 200 or any(m in html for m in RAW_MARKERS):
                raw_pages.append((user.display_name[:4], page, status))
            escaped_pages += "&lt;script&gt;" in html
    outcome.figure("Mini App pages checked", f"{2 * len(pages)} ({escaped_pages} show the "
                   "escaped markup)")  # fmt: skip
    outcome.expect(not raw_pages, f"Mini App pages answer 200 and never raw markup {raw_pages}")

    texts = []
    for message in OutboxMessage.objects.filter(user__in=[alex, sam]).select_related("user"):
        texts.append((message.kind, render(message).text))
    raw = [kind for kind, text in texts if any(m in text for m in RAW_MARKERS)]
    escaped = [kind for kind, text in texts if "&lt;script&gt;" in text]
    outcome.figure("bot messages rendered", f"{len(texts)} ({sorted({k for k, _ in texts})})")
    outcome.expect(not raw and escaped, f"bot messages escape the markup (raw in {raw})")
    return pact_id, today


def refusals(server, outcome, alex, sam, eve, tokens, pact_id, today):
    import jwt
    from django.conf import settings

    from habitpact.testing import sign_init_data, tg_user
    from ledger.actions import settlement_propose
    from pacts.actions import pact_for

    # A tab and a pending settlement to aim at (made before the fingerprint).
    pact = pact_for(alex, pact_id)
    from ledger.models import LedgerEntry

    LedgerEntry.objects.create(pact=pact, type="ADJUSTMENT", amount=500, from_user=alex,
                               to_user=sam, note="drill: a tab to settle")  # fmt: skip
    settlement = settlement_propose(pact, alex, amount=500)

    api = f"{server.url}/api/v1"
    before = common.fingerprint()
    results: list[tuple[str, int, bool]] = []  # (what, status, leaked the title)

    def attempt(what, method, url, *, token=None, body=None, headers=None, ok=(401, 403, 404)):
        status, answer = common.http(method, url, token=token, body=body, headers=headers)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        leaked = "DROP TABLE" in text or "&#x27; OR" in text
        results.append((what, status, leaked, status in ok))

    # --- forged, tampered, expired and other-bot initData ---------------------------------
    fresh = sign_init_data(tg_user(eve))
    forged = {
        "wrong bot token": sign_init_data(tg_user(alex), bot_token="999:OTHER-BOT"),
        "tampered user": fresh.replace(str(eve.telegram_user_id), str(alex.telegram_user_id)),
        "expired (replayed 2 days later)": sign_init_data(
            tg_user(alex), auth_date=int(time.time()) - 2 * 86400
        ),
        "no hash": re.sub(r"&?hash=[0-9a-f]+", "", sign_init_data(tg_user(alex))),
        "garbage": "user=%7B%22id%22%3A1%7D&hash=00",
    }
    for what, init_data in forged.items():
        attempt(f"auth: {what}", "POST", f"{api}/auth/telegram", body={"init_data": init_data},
                ok=(401, 422))  # fmt: skip
        attempt(f"tma header: {what}", "GET", f"{api}/pacts/{pact_id}",
                headers={"Authorization": f"tma {init_data}"})  # fmt: skip
        attempt(f"Mini App: {what}", "GET", f"{server.url}/pacts/{pact_id}",
                headers={"Authorization": f"tma {init_data}", "HX-Request": "true"},
                ok=(401, 403, 404))  # fmt: skip

    # --- JWTs -------------------------------------------------------------------------------
    claims = {"user_id": str(alex.pk), "telegram_user_id": alex.telegram_user_id,
              "iat": int(time.time()), "exp": int(time.time()) + 3600}  # fmt: skip
    tokens_bad = {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
        "alg None, signature kept": f"{b64({'alg': 'None'})}.{b64(claims)}.c2ln",
        "wrong key": jwt.encode(claims, "not-our-secret", algorithm="HS256"),
        "HS512 with our key": jwt.encode(claims, settings.JWT_SECRET, algorithm="HS512"),
        "expired": jwt.encode(
            {**claims, "exp": int(time.time()) - 10}, settings.JWT_SECRET, algorithm="HS256"
        ),  # fmt: skip
        "another user's id in eve's claims": jwt.encode(
            {**claims, "telegram_user_id": eve.telegram_user_id},
            settings.JWT_SECRET,
            algorithm="HS256",
        ),  # fmt: skip
    }
    for what, token in tokens_bad.items():
        attempt(f"jwt {what}: read", "GET", f"{api}/pacts/{pact_id}", token=token)
        attempt(f"jwt {what}: end pact", "POST", f"{api}/pacts/{pact_id}/end", token=token)
        attempt(f"jwt {what}: Mini App", "GET", f"{server.url}/pacts/{pact_id}",
                headers={"Authorization": f"Bearer {token}", "HX-Request": "true"})  # fmt: skip

    # --- a stranger on someone else's pact ---------------------------------------------------
    eve_t = tokens["eve"]
    day = f"{api}/pacts/{pact_id}/days/{today}"
    for path in ("", "/days", f"/days/{today}", "/ledger", "/settlements"):
        attempt(f"stranger GET {path or '/'}", "GET", f"{api}/pacts/{pact_id}{path}", token=eve_t)
    for action, body in (("checkin", {"idempotency_key": "eve"}), ("miss", None),
                         ("skip", None), ("dispute", {}), ("resolve", {"resolution": "CONCEDE"}),
                         ("waive", None)):  # fmt: skip
        attempt(f"stranger {action}", "POST", f"{day}/{action}", token=eve_t, body=body)
    for action in ("end", "decline", "accept"):
        attempt(f"stranger {action}", "POST", f"{api}/pacts/{pact_id}/{action}", token=eve_t,
                ok=(403, 404, 409))  # fmt: skip
    attempt("stranger proposes a settlement", "POST", f"{api}/pacts/{pact_id}/settlements",
            token=eve_t, body={"amount": 1})  # fmt: skip
    for action in ("confirm", "cancel"):
        attempt(f"stranger {action}s the settlement", "POST",
                f"{api}/settlements/{settlement.pk}/{action}", token=eve_t)  # fmt: skip
    eve_page = {"Authorization": f"tma {fresh}", "HX-Request": "true"}
    for page in (f"/pacts/{pact_id}", f"/pacts/{pact_id}/days/{today}",
                 f"/pacts/{pact_id}/history", f"/pacts/{pact_id}/settings"):  # fmt: skip
        attempt(f"stranger Mini App GET {page}", "GET", server.url + page, headers=eve_page)
    for action in ("check-in", "skip", "waive", "dispute"):
        attempt(f"stranger Mini App {action}", "POST",
                f"{server.url}/pacts/{pact_id}/days/{today}/{action}", headers=eve_page,
                body=b"", ok=(403, 404, 405))  # fmt: skip
    attempt("partner checks in for the initiator", "POST", f"{day}/checkin",
            token=tokens["sam"], body={"idempotency_key": "sam"}, ok=(403, 409))  # fmt: skip

    # --- malformed bodies, queries and paths ------------------------------------------------
    bad_body = (400, 413, 415, 422)
    for size in (70 * 1024, 5 * 1024 * 1024):
        big = json.dumps({"title": "x" * size}).encode()
        status = raw_post(f"{api}/pacts", tokens["alex"], big)
        results.append((f"{size // 1024} KB body", status, False, status in bad_body))
    attempt("invalid UTF-8 body", "POST", f"{api}/pacts", token=tokens["alex"],
            body=b'{"title": "\xff\xfe\xfd", "stake_amount": 500}', ok=bad_body)  # fmt: skip
    attempt("invalid UTF-8 note", "POST", f"{day}/checkin", token=tokens["alex"],
            body=b'{"note": "\xc3\x28"}', ok=(*bad_body, 409))  # fmt: skip
    attempt("30 000-deep JSON", "POST", f"{api}/pacts", token=tokens["alex"],
            body=b"[" * 30000 + b"]" * 30000, ok=bad_body)  # fmt: skip
    attempt("NUL in JSON string", "PATCH", f"{api}/users/me", token=tokens["alex"],
            body={"timezone": "Europe/London\u0000"}, ok=bad_body)  # fmt: skip
    attempt("text/html body", "POST", f"{api}/pacts", token=tokens["alex"], body=b"<b>x</b>",
            headers={"Content-Type": "text/html"}, ok=bad_body)  # fmt: skip
    for query in ("offset=99999999999999999999999", "offset=-1", "limit=1000000",
                  "limit=0", "offset=1e9", "limit=%ff"):  # fmt: skip
        for path in ("days", "ledger"):
            attempt(f"GET {path}?{query}", "GET", f"{api}/pacts/{pact_id}/{path}?{query}",
                    token=tokens["alex"], ok=(400, 422))  # fmt: skip
    status, page = common.http("GET", f"{api}/pacts/{pact_id}/days?offset=2147483647",
                               token=tokens["alex"])  # fmt: skip
    results.append(("GET days?offset=2**31-1 (empty page)", status, False, status == 200))
    for path in (
        "/api/v1/pacts/%ff%fe",
        "/api/v1/pacts/" + quote("' OR 1=1 --"),
        f"/api/v1/pacts/{pact_id}/days/9999-99-99",
        "/pacts/%ff",
        "/invite/%00",
    ):
        attempt(f"GET {path}", "GET", server.url + path, token=tokens["alex"],
                ok=(400, 404))  # fmt: skip

    after = common.fingerprint()
    failed = [(w, s) for w, s, leaked, ok in results if not ok or leaked]
    statuses = {}
    for _, s, _, _ in results:
        statuses[s] = statuses.get(s, 0) + 1
    outcome.figure("hostile requests", f"{len(results)} by status {dict(sorted(statuses.items()))}")
    for what, status in failed:
        print(f"    unexpected: {what} -> {status}")
    outcome.expect(not failed, "every hostile request refused with the expected 4xx, no data")
    changed = [t for t in before if before[t] != after[t]]
    outcome.expect(not changed, f"nothing changed (tables differing: {changed})")


def fuzz(server, outcome, tokens, pact_id, today, settlement_id, examples):
    config = common.LOG_DIR / "schemathesis.toml"
    total, failures = 0, []
    passes = [
        ("initiator", tokens["alex"], True),
        ("partner", tokens["sam"], True),
        ("stranger", tokens["eve"], False),
    ]
    for who, token, real_ids in passes:
        lines = ["[parameters]"] if real_ids else []
        if real_ids:
            lines += [f'"path.pact_id" = "{pact_id}"', f'"path.date" = "{today}"',
                      f'"path.settlement_id" = "{settlement_id}"']  # fmt: skip
        config.write_text("\n".join(lines) + "\n")
        command = [
            str(common.ROOT / ".venv/bin/schemathesis"), "--config-file", str(config), "run",
            f"{server.url}/api/v1/schema/", "--url", server.url,
            "-H", f"Authorization: Bearer {token}", "-n", str(examples),
            "--checks", "not_a_server_error", "--exclude-method", "DELETE",
            "--no-color", "--seed", "20261127",
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, timeout=1200)
        (common.LOG_DIR / f"schemathesis-{who}.out").write_text(out.stdout + out.stderr)
        found = re.search(r"(\d+) generated", out.stdout)
        cases = int(found.group(1)) if found else 0
        total += cases
        outcome.figure(f"schemathesis as {who}", f"{cases} cases, exit {out.returncode}")
        if out.returncode != 0:
            failures.append(who)
    outcome.figure("schemathesis cases in all", total)
    outcome.expect(total >= 2000, f"at least 2 000 schemathesis cases ({total})")
    outcome.expect(not failures, f"schemathesis found no 5xx (failed passes: {failures}; see "
                   f"{common.LOG_DIR}/schemathesis-*.out)")  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="hostile input drill")
    parser.add_argument("--examples", type=int, default=30, help="schemathesis -n per pass")
    parser.add_argument("--skip-fuzz", action="store_true")
    args = parser.parse_args(argv)
    common.ensure_database()
    common.configure()
    common.migrate()
    common.reset_data()
    outcome = common.Outcome("hostile")
    from django.db import connection

    from habitpact.auth import issue_token

    alex, sam, eve = make_people()
    tokens = {"alex": issue_token(alex), "sam": issue_token(sam), "eve": issue_token(eve)}
    connection.close()
    with common.Server(name="hostile") as server:
        pact_id, today = escaping(server, outcome, alex, sam, tokens)
        refusals(server, outcome, alex, sam, eve, tokens, pact_id, today)
        errors = server.server_errors()
    outcome.expect(not errors, f"no 5xx or traceback in the server log ({errors[:2]})")
    if not args.skip_fuzz:
        from ledger.models import Settlement

        settlement_id = Settlement.objects.get(pact_id=pact_id).pk
        connection.close()
        with common.Server(name="fuzz", extra_env={"RATE_LIMIT_ENABLED": "0"}) as server:
            fuzz(server, outcome, tokens, pact_id, today, settlement_id, args.examples)
            errors = server.server_errors()
        outcome.expect(not errors, f"fuzz: no 5xx or traceback in the server log ({errors[:2]})")
    return outcome.finish()


if __name__ == "__main__":
    sys.exit(main())
