"""schemathesis hooks for the run against the local stack (tests/openapi/run.py): every case gets
the credential its operation asks for (a demo seller, the demo store's app token, Maria's
identification token, the demo operator), and half the path ids are the demo conversation and
its messages so cases reach past the 404."""

import os
import random

import schemathesis

CREDS = {}  # filled by run.py through the environment
CONV = "01JD3M0C00000000000000V001"
MESSAGES = ["01JD3M0C00000000000000M001", "01JD3M0C00000000000000M002"]


def creds():
    if not CREDS:
        for k in ("SELLER", "PAT", "VISITOR", "EMAIL", "OPERATOR", "SESSION"):
            CREDS[k] = os.environ[f"BALCAO_ST_{k}"]
    return CREDS


@schemathesis.hook
def map_path_parameters(ctx, params):
    if params and random.random() < 0.5:
        if "id" in params:
            params["id"] = CONV
        if "message_id" in params:
            params["message_id"] = random.choice(MESSAGES)
    return params


@schemathesis.hook
def before_call(ctx, case, kwargs):
    c = creds()
    path = case.operation.path
    headers = case.headers if case.headers is not None else {}
    if path.startswith("/v0/customer/"):
        headers["authorization"] = f"Bearer {c['VISITOR']}"
        headers["x-identification-email"] = c["EMAIL"]
    elif path.startswith("/v0/"):
        headers["authorization"] = f"Bearer {c['SELLER']}"
    elif "tokens/create" in path:
        headers["authorization"] = f"Bearer {c['PAT']}"
    elif path == "/api/sessions/audit":
        headers["authorization"] = f"Bearer {c['OPERATOR']}"
    elif path == "/api/sessions" and case.method.upper() != "POST":
        headers["cookie"] = f"vtex_session={c['SESSION']}"
    case.headers = headers
