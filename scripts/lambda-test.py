#!/usr/bin/env python3
"""The cargo-lambda path, as a user takes it (run by scripts/test, with moto running and
AWS_ENDPOINT_URL set):

1. `cargo lambda build --release` builds every function; each bootstrap must be a Linux executable.
2. A fresh table (made by balcao-admin: create-table, load-fixture) and the queues on moto.
3. `cargo lambda watch` serves the functions with Lambda-mode configuration; every function is
   invoked with `cargo lambda invoke <function> --data-file events/...` and its answer checked:
   the HTTP status of API Gateway events, the failed records of SQS batches.

Prints one line per check and a closing `lambda: N passed, M failed`; exits 1 on any failure.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS = [
    "impersonate",
    "token-create",
    "conversations",
    "webhooks",
    "moderation-worker",
    "moderation-sweeper",
    "webhook-dispatcher",
    "assets",
    "realtime",
]
# (function, events/ file, expected HTTP status, the SQS message ids that must fail, or the
# whole JSON answer)
INVOKES = [
    ("token-create", "token-create", 200),
    ("token-create", "token-create-alias", 200),
    ("conversations", "conversations-list", 200),
    ("conversations", "conversations-get", 200),
    ("conversations", "conversations-messages-post", 201),
    ("conversations", "customer-conversations-list", 200),
    ("webhooks", "webhooks-list", 200),
    ("assets", "assets-widget-loader", 200),
    ("assets", "assets-inbox", 200),
    ("impersonate", "sessions-create", 201),
    ("impersonate", "sessions-impersonate", 201),
    ("moderation-worker", "moderation-worker-batch", ["5f0c1a9e-0003-4c4f-9e52-1b2d3c4d5e63"]),
    ("webhook-dispatcher", "webhook-dispatcher-events", ["7a1e2b3c-0002-4d5e-8f90-a1b2c3d4e5f2"]),
    # Nothing has waited two minutes yet: the sweep runs and queues nothing.
    ("moderation-sweeper", "moderation-sweeper-schedule", {"requeued": 0, "events_requeued": 0}),
    # The WebSocket routes: a seller connects, is answered `pong` through PostToConnection on
    # moto's API Gateway Management API, and leaves; a bad token never gets a connection.
    ("realtime", "realtime-connect", 200),
    ("realtime", "realtime-connect-refused", 401),
    ("realtime", "realtime-ping", 200),
    ("realtime", "realtime-disconnect", 200),
]
# The local development key that signs the tokens in events/ (shared/src/auth.rs).
DEV_SECRET = "balcao-local-development-secret-not-for-production"

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {what}")
    else:
        failed += 1
        print(f"FAIL  {what}: {detail}")


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build():
    cmd = ["cargo", "lambda", "build", "--release"]
    for f in FUNCTIONS:
        cmd += ["-p", f]
    res = run(cmd)
    check(res.returncode == 0, "cargo lambda build --release", f"exit {res.returncode}")
    for f in FUNCTIONS:
        path = os.path.join(ROOT, "target", "lambda", f, "bootstrap")
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
            size = os.path.getsize(path)
            check(head == b"\x7fELF" and os.access(path, os.X_OK),
                  f"target/lambda/{f}/bootstrap ({size / 1e6:.1f} MB)", "not an executable ELF")
        except OSError as e:
            check(False, f"target/lambda/{f}/bootstrap", str(e))


def provision(table, prefix):
    # Built by scripts/test with the workspace's features (`cargo build --workspace --bins`).
    admin = [os.path.join(ROOT, "target", "debug", "balcao-admin"), "--table", table]
    for args in (["create-table"], ["load-fixture"]):
        res = run(admin + args, capture_output=True, text=True)
        check(res.returncode == 0, "balcao-admin " + args[0], res.stderr.strip())
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                       region_name=os.environ.get("AWS_REGION", "us-east-1"))
    urls = {}
    for name in ["moderation", "webhook-events", "webhook-deliveries", "webhook-deliveries-dlq"]:
        urls[name] = sqs.create_queue(QueueName=f"{prefix}-{name}")["QueueUrl"]
    return urls


def lambda_env(table, urls):
    keys = json.dumps({"local-dev": DEV_SECRET})
    return {
        "BALCAO_TABLE": table,
        "BALCAO_MODERATION_QUEUE_URL": urls["moderation"],
        "BALCAO_WEBHOOK_EVENTS_QUEUE_URL": urls["webhook-events"],
        "BALCAO_WEBHOOK_DELIVERIES_QUEUE_URL": urls["webhook-deliveries"],
        "BALCAO_WEBHOOK_DLQ_URL": urls["webhook-deliveries-dlq"],
        "BALCAO_JWT_ALG": "HS256",
        "BALCAO_JWT_KEYS": keys,
        "BALCAO_JWT_ISSUER": "https://balcao.local",
        "BALCAO_JWT_AUDIENCE": "balcao",
        "BALCAO_VISITOR_KEYS": keys,
        "BALCAO_VISITOR_KID": "local-dev",
        # The events are signed with the published development key, which Lambda mode refuses
        # unless told this is a local test.
        "BALCAO_ALLOW_DEVELOPMENT_KEYS": "1",
        # moto serves the API Gateway Management API (PostToConnection) at its root.
        "BALCAO_WS_ENDPOINT": os.environ["AWS_ENDPOINT_URL"],
    }


def wait_port(port, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.5)
    return False


def invoke(port, function, event, expected):
    cmd = ["cargo", "lambda", "invoke", "-P", str(port), function,
           "--data-file", f"events/{event}.json", "--output-format", "json"]
    res = run(cmd, capture_output=True, text=True, timeout=900)
    what = f"cargo lambda invoke {function} --data-file events/{event}.json"
    if res.returncode != 0:
        check(False, what, (res.stderr or res.stdout).strip()[-2000:])
        return
    try:
        out = json.loads(res.stdout)
    except ValueError:
        check(False, what, "not JSON: " + res.stdout[-500:])
        return
    if isinstance(expected, dict):
        check(out == expected, f"{what} -> {out}", f"expected {expected}: {res.stdout[-800:]}")
    elif isinstance(expected, int):
        status = out.get("statusCode")
        check(status == expected, f"{what} -> {status}", f"expected {expected}: {res.stdout[-800:]}")
    else:
        failures = sorted(f["itemIdentifier"] for f in out.get("batchItemFailures", []))
        check(failures == sorted(expected), f"{what} -> failures {failures}",
              f"expected {sorted(expected)}: {res.stdout[-800:]}")


def stop(proc):
    if proc.poll() is not None:
        return  # already gone (it failed to start)
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)


def main():
    if "AWS_ENDPOINT_URL" not in os.environ:
        sys.exit("AWS_ENDPOINT_URL is not set: run scripts/test (it starts moto)")
    build()
    run_id = uuid.uuid4().hex[:12]
    table = f"balcao-lambda-{run_id}"
    urls = provision(table, f"balcao-lambda-{run_id}")
    port = free_port()
    env_args = []
    for k, v in lambda_env(table, urls).items():
        env_args += ["--env-var", f"{k}={v}"]
    log = open(os.path.join(ROOT, "target", "lambda-watch.log"), "w")
    watch = subprocess.Popen(
        ["cargo", "lambda", "watch", "-P", str(port), "--ignore-changes"] + env_args,
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        up = wait_port(port, watch)
        check(up, f"cargo lambda watch on 127.0.0.1:{port}", "did not start (target/lambda-watch.log)")
        if up:
            for function, event, expected in INVOKES:
                invoke(port, function, event, expected)
    finally:
        stop(watch)
        log.close()
    print(f"lambda: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
