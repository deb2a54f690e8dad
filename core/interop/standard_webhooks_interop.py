#!/usr/bin/env python3
"""Cross-checks paygate-core's Standard Webhooks signatures with the reference Python library.

    .venv/bin/python core/interop/standard_webhooks_interop.py

Both directions, on random secrets and bodies (ASCII and UTF-8), including secret rotation:
- what we sign, `standardwebhooks.Webhook.verify` accepts, with either rotated secret;
- what the library signs, our `verify` accepts, and rejects once any byte of body, id or timestamp changes.
Exits non-zero on the first disagreement. Seeded, so a failure reproduces.
"""
import base64
import datetime
import json
import os
import random
import subprocess
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

CASES = 200
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_tool():
    subprocess.run(["cargo", "build", "-q", "-p", "paygate-core", "--example", "webhook_tool"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return subprocess.Popen([os.path.join(target, "debug", "examples", "webhook_tool")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def ask(tool, request):
    tool.stdin.write(json.dumps(request) + "\n")
    tool.stdin.flush()
    return json.loads(tool.stdout.readline())


def random_secret(rng):
    return "whsec_" + base64.b64encode(rng.randbytes(rng.choice([24, 32, 64]))).decode()


def random_body(rng):
    words = ["charge.captured", "ch_01jd", "amount", "KWD", "Zoë", "الرياض", "\\u00e9", "\"q\"", "1e3"]
    return json.dumps({"type": rng.choice(words), "data": {"object": {rng.choice(words): rng.randint(0, 10**12)}},
                       "note": " ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))}, ensure_ascii=rng.random() < 0.5)


def main():
    rng = random.Random(int(os.environ.get("INTEROP_SEED", "20261121")))
    tool = start_tool()
    checked = 0
    for case in range(CASES):
        new, old = random_secret(rng), random_secret(rng)
        msg_id = "evt_%026x" % rng.getrandbits(100)
        now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        body = random_body(rng)
        headers_for = lambda sig: {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": sig}

        # Ours → theirs, during a rotation: both secrets' holders accept.
        ours = ask(tool, {"op": "sign", "secrets": [new, old], "id": msg_id, "timestamp": now, "body": body})["signature"]
        for secret in (new, old):
            Webhook(secret).verify(body, headers_for(ours))
        try:
            Webhook(random_secret(rng)).verify(body, headers_for(ours))
            sys.exit(f"case {case}: the library accepted our signature under an unrelated secret")
        except WebhookVerificationError:
            pass

        # Theirs → ours.
        theirs = Webhook(new).sign(msg_id, datetime.datetime.fromtimestamp(now, datetime.timezone.utc), body)
        verdict = ask(tool, {"op": "verify", "secret": new, "id": msg_id, "timestamp": str(now),
                             "signature": theirs, "body": body, "now": now})
        if not verdict["ok"]:
            sys.exit(f"case {case}: we rejected the library's signature: {verdict}")
        for field, value in (("body", body + " "), ("id", msg_id + "x"), ("timestamp", str(now + 1))):
            request = {"op": "verify", "secret": new, "id": msg_id, "timestamp": str(now), "signature": theirs,
                       "body": body, "now": now}
            request[field] = value
            if ask(tool, request)["ok"]:
                sys.exit(f"case {case}: we accepted a message with a changed {field}")
        checked += 1
    tool.stdin.close()
    tool.wait()
    print(f"standard webhooks interop: {checked} cases agree in both directions (incl. rotation)")


if __name__ == "__main__":
    main()
