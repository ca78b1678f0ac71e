"""Checks webhook deliveries with the `standardwebhooks` package, an implementation of the
Standard Webhooks signature scheme that is not ours. Reads a JSON list of
{secret, id, timestamp, signature, body}; prints a JSON list of booleans (verified or not)."""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def verified(d):
    headers = {
        "webhook-id": d["id"],
        "webhook-timestamp": d["timestamp"],
        "webhook-signature": d["signature"],
    }
    try:
        Webhook(d["secret"]).verify(d["body"], headers)
        return True
    except WebhookVerificationError:
        return False


with open(sys.argv[1], encoding="utf-8") as f:
    print(json.dumps([verified(d) for d in json.load(f)]))
