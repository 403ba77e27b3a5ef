"""A client for the PLATFORMA Event Gateway using only the Python standard library (3.8+).

Copy this file into a service. It publishes events (one, or a batch) and turns every error the
gateway answers into a GatewayProblem carrying the RFC 9457 body's stable ``code``: branch on
``problem.code``, never on message text. The contract is openapi/openapi.json.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional


class GatewayProblem(Exception):
    """A non-2xx answer. ``code`` is the gateway's stable code (``GW_VALIDATION_FAILED``, ...),
    or None when the body was not problem+json (a proxy's error page, say)."""

    def __init__(self, status: int, problem: Optional[Dict[str, Any]], headers: Any = None) -> None:
        self.status = status
        self.problem = problem
        self.code: Optional[str] = problem.get("code") if problem else None
        self.title: Optional[str] = problem.get("title") if problem else None
        self.detail: Optional[str] = problem.get("detail") if problem else None
        # Each failing field, for validation problems: {"pointer": "/data/order_id", "message": ...}.
        self.errors: List[Dict[str, Any]] = (problem.get("errors") or []) if problem else []
        self.request_id: Optional[str] = (problem or {}).get("request_id") or (headers.get("X-Request-Id") if headers else None)
        retry_after = headers.get("Retry-After") if headers else None
        self.retry_after: Optional[int] = int(retry_after) if retry_after and retry_after.isdigit() else None
        super().__init__(f"{self.code}: {self.detail}" if problem else f"HTTP {status} without a problem+json body")


class GatewayClient:
    """Publishes to the gateway at ``base_url`` with a tenant API key."""

    def __init__(self, base_url: str, api_key: Optional[str], timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def publish_event(
        self,
        event: Dict[str, Any],
        correlation_id: Optional[str] = None,
        traceparent: Optional[str] = None,
        retries: int = 2,
    ) -> Dict[str, Any]:
        """POST /v1/events. Returns ``{"id", "seq", "stream", "duplicate"}`` once JetStream stored it.

        Retries a 503 (bus unavailable) after its Retry-After. The event gets an ``id`` first, so
        a retry of an event that was in fact stored answers ``duplicate: true`` instead of storing
        it twice.
        """
        event = dict(event)
        event.setdefault("id", "evt_" + uuid.uuid4().hex)
        headers = {}
        if correlation_id is not None:
            headers["X-Correlation-Id"] = correlation_id
        if traceparent is not None:
            headers["traceparent"] = traceparent
        for attempt in range(retries + 1):
            try:
                return self._request("POST", "/v1/events", event, headers)
            except GatewayProblem as problem:
                if problem.status != 503 or attempt == retries:
                    raise
                time.sleep(min(problem.retry_after or 1, 30))
        raise AssertionError("unreachable")

    def publish_batch(self, events: List[Dict[str, Any]], correlation_id: Optional[str] = None) -> Dict[str, Any]:
        """POST /v1/events/batch. Each event is stored or rejected on its own: the answer has one
        result per event, in order, ``{"id", "seq", "duplicate"}`` or ``{"index", "error"}``,
        and ``failed`` counts the rejected ones. Request-level problems raise GatewayProblem."""
        headers = {"X-Correlation-Id": correlation_id} if correlation_id is not None else {}
        return self._request("POST", "/v1/events/batch", {"events": events}, headers)

    def list_event_types(self) -> List[Dict[str, Any]]:
        """GET /v1/event-types: the catalogue, with each type's JSON Schema of ``data``."""
        return self._request("GET", "/v1/event-types")["types"]

    def _request(self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
        data = None
        all_headers = {"Accept": "application/json, application/problem+json", **(headers or {})}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if self.api_key is not None:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            problem = None
            if (err.headers.get("Content-Type") or "").startswith("application/problem+json"):
                try:
                    problem = json.loads(raw)
                except ValueError:
                    problem = None
            raise GatewayProblem(err.code, problem, err.headers) from None
