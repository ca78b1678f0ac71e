#!/usr/bin/env python3
"""schemathesis against the local stack, run by scripts/test.

Starts target/debug/balcao-local (embedded store, demo data) on a free port, fetches the demo
credentials (a seller token from the demo page's API, an identification token for Maria with the
demo app token, an admin operator token from `balcao-local mint-operator-token`), and runs
schemathesis over docs/openapi.json — every operation, positive and negative data, the stateful
phase — with the checks that hold for this API: no server error, every response matches its
documented schema, status code and content type. Hooks: tests/openapi/hooks.py.

`--max-examples N` per operation and phase (default 400), `--min-cases N` (default 10 000: the run
fails with fewer), `-- <schemathesis options>`; prints schemathesis's summary, the case count and
`openapi: 1 passed, 0 failed` (or `0 passed, 1 failed`).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
PAT = "pat-demo-lojademo-0000000000000000000000000001"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, body=None, token=None):
    h = {"content-type": "application/json"}
    if token:
        h["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None, headers=h)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def main():
    max_examples = sys.argv[sys.argv.index("--max-examples") + 1] if "--max-examples" in sys.argv else "400"
    min_cases = int(sys.argv[sys.argv.index("--min-cases") + 1]) if "--min-cases" in sys.argv else 10_000
    extra = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    binary = os.path.join(ROOT, "target", "debug", "balcao-local")
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    log = open(os.path.join(ROOT, "target", "openapi-stack.log"), "w")
    # Rate limits off: schemathesis posts far faster than a person.
    env = dict(os.environ, RUST_LOG="error", BALCAO_CUSTOMER_POSTS_PER_MINUTE="0",
               BALCAO_SELLER_POSTS_PER_MINUTE="0")
    stack = subprocess.Popen([binary, "--addr", f"127.0.0.1:{port}"], stdout=log,
                             stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(api + "/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        sellers = get(api + "/demo/api/sellers")["sellers"]
        seller = next(s["token"] for s in sellers if s["id"] == "seller-acme")
        visitor = get(api + "/conversations/v3/visitor-identification/tokens/create",
                      {"email": "maria@example.com"}, PAT)["token"]
        session = get(api + "/api/sessions", {"public": {"st": {"value": "1"}}})["sessionToken"]
        operator = subprocess.run(
            [binary, "mint-operator-token", "--account", "lojademo", "--email", "admin@lojademo.com.br"],
            capture_output=True, text=True, check=True).stdout.strip()
        env = dict(os.environ, SCHEMATHESIS_HOOKS="hooks", PYTHONPATH=HERE,
                   BALCAO_ST_SELLER=seller, BALCAO_ST_PAT=PAT, BALCAO_ST_VISITOR=visitor,
                   BALCAO_ST_EMAIL="maria@example.com", BALCAO_ST_OPERATOR=operator,
                   BALCAO_ST_SESSION=session)
        # Two schemathesis processes, one per half of the API, so both cores generate cases
        # (one process's workers share one interpreter). Stateful sequences stay within a half:
        # the customer's routes (open -> post -> read) are one.
        halves = [("customer", ["--include-path-regex", "^/v0/customer/"]),
                  ("seller, webhooks, sessions, tokens",
                   ["--exclude-path-regex", "^/v0/customer/"])]
        runs = []
        for name, select in halves:
            cmd = [os.path.join(os.path.dirname(sys.executable), "schemathesis"), "run",
                   os.path.join(ROOT, "docs", "openapi.json"), "--url", api,
                   "--checks", CHECKS, "--max-examples", max_examples, "--seed", "20261202",
                   "--mode", "all", "--workers", "1", "--no-color",
                   "--suppress-health-check", "all"] + select + extra
            print("$ " + " ".join(cmd[1:]), flush=True)
            runs.append((name, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True)))
        ok = True
        cases = 0
        for name, proc in runs:
            out = proc.communicate()[0]
            print(f"---- schemathesis ({name}) ----")
            print(out[-6000:])
            found = re.search(r"Test cases:\s*\n?\s*([0-9,]+) generated", out)
            cases += int(found.group(1).replace(",", "")) if found else 0
            ok = ok and proc.returncode == 0 and found is not None
        print(f"schemathesis cases: {cases} (at least {min_cases} wanted)")
        ok = ok and cases >= min_cases
        print(f"openapi: {1 if ok else 0} passed, {0 if ok else 1} failed")
        sys.exit(0 if ok else 1)
    finally:
        stack.terminate()
        stack.wait(timeout=10)
        log.close()


if __name__ == "__main__":
    main()
