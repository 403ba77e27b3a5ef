"""Follows a live gateway with the platforma_events package's tail() (Server-Sent Events) and
prints one JSON line per event, until the event whose ``data.order_id`` is ``stop_at``
(test/python-tail.test.ts restarts the gateway in between). With a key the gateway refuses, it
prints the problem. Standard library only."""

import json
import sys

from platforma_events import GatewayClient, GatewayProblem

url, key, stop_at = sys.argv[1], sys.argv[2], sys.argv[3]
closes = []
client = GatewayClient(url, key)
print(json.dumps({"step": "start"}), flush=True)
try:
    for item in client.tail(types=["order.*"], filter={"source": ["py-tail"]}, read_timeout=30, on_close=closes.append):
        print(json.dumps({"step": "event", "id": item["id"], "type": item["type"], "order": item["event"]["data"]["order_id"], "closes": [c["reason"] for c in closes]}), flush=True)
        if item["event"]["data"]["order_id"] == stop_at:
            break
except GatewayProblem as problem:
    print(json.dumps({"step": "problem", "status": problem.status, "code": problem.code}), flush=True)
