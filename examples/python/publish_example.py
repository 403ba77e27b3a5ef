#!/usr/bin/env python3
"""Publishes to a running gateway with the standard-library client, and shows its error handling.

    GATEWAY_URL=http://127.0.0.1:8080 GATEWAY_API_KEY=<key> python3 examples/python/publish_example.py

(or pass the URL and key as arguments). It reads the catalogue, publishes one event, a batch whose
second event is invalid, then provokes a 422 and a 401 to show how problems arrive. Each step
prints one line of ``key=value`` fields; the exit code is 0 only when every step behaved as
described.
"""

import os
import sys

from gateway_client import GatewayClient, GatewayProblem


def main() -> int:
    base_url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
    api_key = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("GATEWAY_API_KEY")
    if not api_key:
        print("set GATEWAY_API_KEY (or pass the key as the second argument)", file=sys.stderr)
        return 2
    client = GatewayClient(base_url, api_key)
    ok = True

    # The catalogue: every accepted type with its version and the JSON Schema of its data.
    types = {t["type"]: t for t in client.list_event_types()}
    print(f"catalogue types={len(types)} order.created={types['order.created']['version']}")

    # One event. The gateway fills id, timestamp, tenant_id, version and metadata when omitted.
    order = {
        "type": "order.created",
        "source": "python-example",
        "data": {"order_id": "ord_py_1", "customer_id": "cus_42"},
    }
    stored = client.publish_event(order, correlation_id="req_py_1")
    print(f"published id={stored['id']} seq={stored['seq']} duplicate={stored['duplicate']}")

    # The same id again: stored once, answered with the original seq.
    again = client.publish_event({**order, "id": stored["id"]}, correlation_id="req_py_1")
    print(f"republished id={again['id']} seq={again['seq']} duplicate={again['duplicate']}")
    ok &= again["duplicate"] is True and again["seq"] == stored["seq"]

    # A batch: the valid events are stored even though the second one is rejected.
    batch = client.publish_batch(
        [
            {"type": "order.validated", "source": "python-example", "data": {"order_id": "ord_py_1"}},
            {"type": "order.validated", "source": "python-example", "data": {}},
            {"type": "order.processing", "source": "python-example", "data": {"order_id": "ord_py_1"}},
        ],
        correlation_id="req_py_1",
    )
    seqs = [str(r["seq"]) for r in batch["results"] if "seq" in r]
    rejected = [r for r in batch["results"] if "error" in r]
    for r in rejected:
        pointers = ",".join(e["pointer"] for e in r["error"].get("errors", []))
        print(f"batch-rejected index={r['index']} code={r['error']['code']} pointers={pointers}")
    print(f"batch stored={','.join(seqs)} failed={batch['failed']}")
    ok &= batch["failed"] == 1 and len(seqs) == 2

    # A request-level problem: 422 with a JSON pointer per failing field.
    try:
        client.publish_event({"type": "order.created", "source": "python-example", "data": {"customer_id": "cus_42"}})
        print("problem expected for an order without order_id", file=sys.stderr)
        ok = False
    except GatewayProblem as problem:
        pointers = ",".join(e["pointer"] for e in problem.errors)
        print(f"problem status={problem.status} code={problem.code} pointers={pointers}")
        ok &= problem.code == "GW_VALIDATION_FAILED"

    # A wrong key: 401, same shape.
    try:
        GatewayClient(base_url, "not-a-key").publish_event(order)
        print("problem expected for an unknown key", file=sys.stderr)
        ok = False
    except GatewayProblem as problem:
        print(f"problem status={problem.status} code={problem.code} request_id={problem.request_id}")
        ok &= problem.code == "GW_UNAUTHORIZED"

    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
