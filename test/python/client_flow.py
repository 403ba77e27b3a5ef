"""Uses every operation of the installed platforma_events package against a live gateway and prints
one JSON line per step (test/python-client.test.ts checks them). Standard library only."""

import json
import sys
import time

import platforma_events
from platforma_events import GatewayClient, GatewayProblem


def out(step, **values):
    print(json.dumps({"step": step, **values}), flush=True)


url, key = sys.argv[1], sys.argv[2]
client = GatewayClient(url, key)
out("installed", module=platforma_events.__file__)

first = client.publish({"type": "order.created", "source": "py-client", "data": {"order_id": "ord_py"}}, correlation_id="req_py_pkg")
again = client.publish({"type": "order.created", "source": "py-client", "data": {"order_id": "ord_py"}, "id": first["id"]})
out("publish", id=first["id"], seq=first["seq"], duplicate=first["duplicate"], again_seq=again["seq"], again_duplicate=again["duplicate"])

batch = client.publish_batch(
    [
        {"type": "order.validated", "source": "py-client", "data": {"order_id": "ord_py"}},
        {"type": "order.created", "source": "py-client", "data": {}},
    ],
    correlation_id="req_py_pkg",
)
out("batch", failed=batch["failed"], codes=[r["error"]["code"] for r in batch["results"] if "error" in r])

page = client.history(types=["order.created", "order.validated"], correlation_id="req_py_pkg", limit=1)
everything = list(client.iter_history(types=["order.*"], correlation_id="req_py_pkg", limit=1))
out("history", first_page=len(page["events"]), has_next=page["next"] is not None, all=[e["event"]["type"] for e in everything])

trace = client.correlation("req_py_pkg")
out("correlation", count=trace["summary"]["count"], types=[e["event"]["type"] for e in trace["events"]])

consumer = client.put_consumer("py-billing", ["order.*"], start="all", ack_wait=1000, max_deliver=1)
out("put_consumer", name=consumer["name"], types=consumer["types"])
fetched = client.fetch("py-billing", max=10, wait_ms=0)
acked = client.ack("py-billing", acks=[e["ack_token"] for e in fetched[:1]], naks=[e["ack_token"] for e in fetched[1:]])
out("fetch", seqs=[e["seq"] for e in fetched], acks=[a["ok"] for a in acked["acks"]], naks=[n["ok"] for n in acked["naks"]])

# max_deliver=1: the nak'ed event is dead-lettered (bounded wait).
dead = []
for _ in range(100):
    dead = client.dead_letters(consumer="py-billing")["dead_letters"]
    if dead:
        break
    client.fetch("py-billing", max=10, wait_ms=100)
    time.sleep(0.05)
out("dead_letters", seqs=[d["seq"] for d in dead], original=[d["original_seq"] for d in dead], reasons=[d["reason"] for d in dead])
redriven = client.redrive(seqs=[d["seq"] for d in dead])
out("redrive", redriven=redriven["redriven"])
again_fetched = client.fetch("py-billing", max=10, wait_ms=2000)
out("refetch", seqs=[e["seq"] for e in again_fetched])

got = client.get_consumer("py-billing")
out("get_consumer", name=got["name"])
out("delete_consumer", deleted=client.delete_consumer("py-billing")["deleted"])

try:
    client.get_consumer("py-billing")
except GatewayProblem as problem:
    out("problem", status=problem.status, code=problem.code, request_id=bool(problem.request_id))
