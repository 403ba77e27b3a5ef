"""The gateway client: urllib only, one method per REST operation of openapi/openapi.json."""

from __future__ import annotations

import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union, cast

from .types import (
    AckResult,
    BatchResult,
    Consumer,
    ConsumerDeleted,
    CorrelationTrace,
    DeadLetterPage,
    EventInput,
    EventPage,
    EventTypeInfo,
    FetchedEvent,
    PublishResult,
    RedriveResult,
    StartPosition,
    StoredEvent,
    StreamClose,
    TailEvent,
)


@dataclass(eq=False)
class GatewayProblem(Exception):
    """A non-2xx answer. ``code`` is the gateway's stable code (``GW_VALIDATION_FAILED``, ...), or
    None when the body was not problem+json (a proxy's error page, say): branch on ``code``, never
    on message text."""

    status: int
    problem: Optional[Dict[str, Any]] = None
    code: Optional[str] = None
    title: Optional[str] = None
    detail: Optional[str] = None
    #: Each failing field, for validation problems: ``{"pointer": "/data/order_id", "message": ...}``.
    errors: List[Dict[str, Any]] = field(default_factory=list)
    request_id: Optional[str] = None
    #: Seconds the gateway asked to wait (``Retry-After``), on 503s.
    retry_after: Optional[int] = None

    @classmethod
    def from_response(cls, status: int, problem: Optional[Dict[str, Any]], headers: Any = None) -> "GatewayProblem":
        body = problem or {}
        retry_after = headers.get("Retry-After") if headers is not None else None
        return cls(
            status=status,
            problem=problem,
            code=body.get("code"),
            title=body.get("title"),
            detail=body.get("detail"),
            errors=list(body.get("errors") or []),
            request_id=body.get("request_id") or (headers.get("X-Request-Id") if headers is not None else None),
            retry_after=int(retry_after) if retry_after and str(retry_after).isdigit() else None,
        )

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.problem else f"HTTP {self.status} without a problem+json body"


class GatewayClient:
    """The PLATFORMA Event Gateway at ``base_url``, with a tenant API key."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    # Publishing -------------------------------------------------------------------------------

    def publish(
        self,
        event: EventInput,
        correlation_id: Optional[str] = None,
        traceparent: Optional[str] = None,
        retries: int = 2,
    ) -> PublishResult:
        """``POST /v1/events``: answers once JetStream stored the event.

        The event gets an ``id`` first, so a retry of a 503 (after its Retry-After) of an event that
        was in fact stored answers ``duplicate: True`` instead of storing it twice.
        """
        body = dict(event)
        body.setdefault("id", "evt_" + uuid.uuid4().hex)
        headers = _headers(correlation_id, traceparent)
        for attempt in range(retries + 1):
            try:
                return cast(PublishResult, self._request("POST", "/v1/events", body=body, headers=headers))
            except GatewayProblem as problem:
                if problem.status != 503 or attempt == retries:
                    raise
                time.sleep(min(problem.retry_after or 1, 30))
        raise AssertionError("unreachable")

    #: The name of the original example client.
    publish_event = publish

    def publish_batch(
        self, events: Sequence[EventInput], correlation_id: Optional[str] = None, traceparent: Optional[str] = None
    ) -> BatchResult:
        """``POST /v1/events/batch``: each event is stored or rejected on its own; ``results`` has one
        entry per event, in order (``{"id", "seq", "duplicate"}`` or ``{"index", "error"}``)."""
        return cast(
            BatchResult,
            self._request("POST", "/v1/events/batch", body={"events": list(events)}, headers=_headers(correlation_id, traceparent)),
        )

    # Reading ----------------------------------------------------------------------------------

    def history(
        self,
        types: Optional[Sequence[str]] = None,
        since: Optional[str] = None,
        until: Optional[str] = None,
        correlation_id: Optional[str] = None,
        source: Optional[str] = None,
        from_seq: Optional[int] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> EventPage:
        """``GET /v1/events``: one page of the tenant's history; pass ``page["next"]`` as ``cursor``."""
        query = {
            "types": list(types) if types else None,
            "since": since,
            "until": until,
            "correlation_id": correlation_id,
            "source": source,
            "from_seq": from_seq,
            "limit": limit,
            "cursor": cursor,
        }
        return cast(EventPage, self._request("GET", "/v1/events", query=query))

    def iter_history(self, **filters: Any) -> Iterator[StoredEvent]:
        """Every event matching ``filters`` (the arguments of :meth:`history`), following the cursors."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.history(cursor=cursor, **filters)
            yield from page["events"]
            cursor = page["next"]
            if not cursor:
                return

    def correlation(self, correlation_id: str) -> CorrelationTrace:
        """``GET /v1/correlations/{correlation_id}``: every event of one workflow, and a summary."""
        return cast(CorrelationTrace, self._request("GET", "/v1/correlations/" + _segment(correlation_id)))

    def list_event_types(self) -> List[EventTypeInfo]:
        """``GET /v1/event-types``: the catalogue, with each type's JSON Schema of ``data``."""
        return cast(List[EventTypeInfo], self._request("GET", "/v1/event-types")["types"])

    def health(self) -> Dict[str, Any]:
        """``GET /healthz``."""
        return cast(Dict[str, Any], self._request("GET", "/healthz"))

    def readiness(self) -> Dict[str, Any]:
        """``GET /readyz``: a 503 GW_NOT_READY problem when not ready."""
        return cast(Dict[str, Any], self._request("GET", "/readyz"))

    def ws_ticket(self) -> Dict[str, Any]:
        """``POST /v1/ws-tickets``: a single-use ticket for ``GET /v1/ws?ticket=``."""
        return cast(Dict[str, Any], self._request("POST", "/v1/ws-tickets"))

    # Live tail (Server-Sent Events) -----------------------------------------------------------

    def tail(
        self,
        types: Optional[Sequence[str]] = None,
        filter: Optional[Mapping[str, Any]] = None,
        last_event_id: Optional[int] = None,
        from_seq: Optional[int] = None,
        reconnect: bool = True,
        max_attempts: Optional[int] = None,
        read_timeout: float = 60.0,
        on_close: Optional[Callable[[StreamClose], None]] = None,
    ) -> Iterator[TailEvent]:
        """``GET /v1/events/stream``: the tenant's events as they are stored, as a generator of
        ``{"id", "type", "event"}`` (docs/sse.md). Only new events, unless ``last_event_id`` (resume
        after it) or ``from_seq`` (start at it) is given. After a dropped connection, a read timeout
        (no heartbeat for ``read_timeout`` seconds) or the gateway ending the stream (``on_close``
        gets its ``event: close``), it reconnects with backoff sending ``Last-Event-ID``: no event is
        skipped or yielded twice. A refused request (bad key, filter, ...) raises
        :class:`GatewayProblem`. Stop by breaking out of the loop (or ``close()`` on the generator).

            for item in client.tail(types=["order.*"]):
                print(item["id"], item["type"], item["event"]["data"])
        """
        last = last_event_id
        attempt = 0
        while True:
            query: Dict[str, Any] = {"types": ",".join(types) if types else None}
            if filter is not None:
                query["filter"] = json.dumps(dict(filter), separators=(",", ":"))
            if last is None and from_seq is not None:
                query["from_seq"] = from_seq
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                response = self._open("GET", "/v1/events/stream", headers=headers, query=query, timeout=read_timeout)
                try:
                    for record in _sse_records(response):
                        if record["event"] == "close" and record["id"] is None:
                            if on_close is not None:
                                on_close(cast(StreamClose, json.loads(record["data"])))
                            continue
                        if record["id"] is None:
                            continue
                        seq = int(record["id"])
                        if last is not None and seq <= last:
                            continue  # already yielded: in order on one stream
                        last = seq
                        attempt = 0
                        yield {"id": seq, "type": record["event"], "event": json.loads(record["data"])}
                finally:
                    response.close()
                failure: Exception = ConnectionError("the event stream ended")
            except GatewayProblem as problem:
                if problem.status < 500 and problem.status != 429:
                    raise
                failure = problem
            except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, resets, IncompleteRead
                failure = err
            attempt += 1
            if not reconnect or (max_attempts is not None and attempt > max_attempts):
                raise ConnectionError(f"the event stream failed: {failure}") from failure
            # Exponential backoff with jitter, so a restarted gateway is not hit by every client at once.
            time.sleep(min(30.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2))

    # Pull consumers ---------------------------------------------------------------------------

    def put_consumer(
        self,
        name: str,
        types: Sequence[str],
        filter: Optional[Mapping[str, Any]] = None,
        start: Optional[StartPosition] = None,
        ack_wait: Optional[int] = None,
        max_deliver: Optional[int] = None,
    ) -> Consumer:
        """``PUT /v1/consumers/{name}``: creates or updates a durable pull consumer. ``start`` is its
        ``from`` (``"new"``, ``"all"``, ``{"seq": n}``, ``{"time": iso}``), taken at creation only."""
        body: Dict[str, Any] = {"types": list(types)}
        if filter is not None:
            body["filter"] = dict(filter)
        if start is not None:
            body["from"] = start
        if ack_wait is not None:
            body["ack_wait"] = ack_wait
        if max_deliver is not None:
            body["max_deliver"] = max_deliver
        return cast(Consumer, self._request("PUT", "/v1/consumers/" + _segment(name), body=body))

    def get_consumer(self, name: str) -> Consumer:
        """``GET /v1/consumers/{name}``: its definition and progress (pending, unacked, ...)."""
        return cast(Consumer, self._request("GET", "/v1/consumers/" + _segment(name)))

    def delete_consumer(self, name: str) -> ConsumerDeleted:
        """``DELETE /v1/consumers/{name}`` (its dead letters stay)."""
        return cast(ConsumerDeleted, self._request("DELETE", "/v1/consumers/" + _segment(name)))

    def fetch(self, name: str, max: Optional[int] = None, wait_ms: Optional[int] = None) -> List[FetchedEvent]:
        """``POST /v1/consumers/{name}/fetch``: up to ``max`` events, waiting up to ``wait_ms`` for a first one.
        Ack each with its ``ack_token`` before its ``ack_deadline``."""
        body: Dict[str, Any] = {}
        if max is not None:
            body["max"] = max
        if wait_ms is not None:
            body["wait_ms"] = wait_ms
        timeout = max_timeout(self.timeout, wait_ms)
        return cast(List[FetchedEvent], self._request("POST", f"/v1/consumers/{_segment(name)}/fetch", body=body, timeout=timeout)["events"])

    def ack(
        self, name: str, acks: Iterable[str] = (), naks: Iterable[Union[str, Mapping[str, Any]]] = ()
    ) -> AckResult:
        """``POST /v1/consumers/{name}/ack``: ``acks`` are tokens of processed events; ``naks`` tokens
        (or ``{"token", "delay_ms"}``) to redeliver. One outcome per entry, in order."""
        body: Dict[str, Any] = {}
        acks, naks = list(acks), [n if isinstance(n, str) else dict(n) for n in naks]
        if acks:
            body["acks"] = acks
        if naks:
            body["naks"] = naks
        return cast(AckResult, self._request("POST", f"/v1/consumers/{_segment(name)}/ack", body=body))

    # Dead letters -----------------------------------------------------------------------------

    def dead_letters(self, consumer: Optional[str] = None, after_seq: Optional[int] = None, limit: Optional[int] = None) -> DeadLetterPage:
        """``GET /v1/dead-letters``: pass ``page["next_after_seq"]`` as ``after_seq`` to read on."""
        query = {"consumer": consumer, "after_seq": after_seq, "limit": limit}
        return cast(DeadLetterPage, self._request("GET", "/v1/dead-letters", query=query))

    def redrive(
        self, seqs: Optional[Sequence[int]] = None, filter: Optional[Mapping[str, Any]] = None, dry_run: bool = False
    ) -> RedriveResult:
        """``POST /v1/dead-letters/redrive``: the dead letters ``seqs``, or every one matching ``filter``
        (``{"consumer": ..., "types": [...]}``; ``{}``: all), back to their consumer. With ``dry_run``,
        nothing changes: the answer counts what a redrive would do (``would_redrive``)."""
        if (seqs is None) == (filter is None):
            raise ValueError("redrive takes seqs or filter")
        body: Dict[str, Any] = {"seqs": list(seqs)} if seqs is not None else {"filter": dict(filter or {})}
        if dry_run:
            body["dry_run"] = True
        return cast(RedriveResult, self._request("POST", "/v1/dead-letters/redrive", body=body))

    # HTTP -------------------------------------------------------------------------------------

    def _open(
        self,
        method: str,
        path: str,
        headers: Optional[Dict[str, str]] = None,
        query: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> http.client.HTTPResponse:
        """An open response to read as it arrives (a stream); a non-2xx answer is raised as GatewayProblem."""
        url = self.base_url + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs, doseq=True)
        all_headers = dict(headers or {})
        if self.api_key is not None:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, method=method, headers=all_headers)
        try:
            return cast(http.client.HTTPResponse, urllib.request.urlopen(request, timeout=timeout or self.timeout))
        except urllib.error.HTTPError as err:
            raise _problem(err) from None

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
        query: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        url = self.base_url + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs, doseq=True)
        data = None
        all_headers = {"Accept": "application/json, application/problem+json", **(headers or {})}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if self.api_key is not None:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raise _problem(err) from None


def _problem(err: urllib.error.HTTPError) -> GatewayProblem:
    raw = err.read()
    problem = None
    if (err.headers.get("Content-Type") or "").startswith("application/problem+json"):
        try:
            problem = json.loads(raw)
        except ValueError:
            problem = None
    return GatewayProblem.from_response(err.code, problem, err.headers)


def _sse_records(response: Any) -> Iterator[Dict[str, Any]]:
    """The records of a ``text/event-stream`` (the WHATWG rules: ``:`` starts a comment, a blank
    line dispatches, ``data`` lines join with a newline), read line by line as they arrive."""
    record_id: Optional[str] = None
    event = ""
    data: List[str] = []
    while True:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data or record_id is not None:
                yield {"id": record_id, "event": event or "message", "data": "\n".join(data)}
            record_id, event, data = None, "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "id":
            record_id = value
        elif name == "event":
            event = value
        elif name == "data":
            data.append(value)


def _headers(correlation_id: Optional[str], traceparent: Optional[str]) -> Dict[str, str]:
    headers = {}
    if correlation_id is not None:
        headers["X-Correlation-Id"] = correlation_id
    if traceparent is not None:
        headers["traceparent"] = traceparent
    return headers


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def max_timeout(timeout: float, wait_ms: Optional[int]) -> float:
    """A fetch may hold the request for ``wait_ms``: the socket timeout must outlast it."""
    return timeout + (wait_ms if wait_ms is not None else 5000) / 1000
