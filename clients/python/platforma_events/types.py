"""The JSON shapes of the gateway's answers (openapi/openapi.json), as TypedDicts.

They describe what the gateway sends; the client returns the decoded JSON as is (plain dicts),
so ``result["seq"]`` works and type checkers know the keys.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union


class EventMetadata(TypedDict, total=False):
    correlation_id: str
    causation_id: str
    trace_id: str


class EventInput(TypedDict, total=False):
    """What a publisher sends: ``type``, ``source`` and ``data`` are required."""

    id: str
    type: str
    version: str
    source: str
    timestamp: str
    data: Any
    metadata: EventMetadata


class EventEnvelope(TypedDict):
    """An event as stored: the gateway fills ``tenant_id`` and the defaults."""

    id: str
    type: str
    version: str
    tenant_id: str
    timestamp: str
    source: str
    data: Any
    metadata: EventMetadata


class FieldError(TypedDict, total=False):
    pointer: str
    message: str
    keyword: str


class PublishResult(TypedDict):
    id: str
    seq: int
    stream: str
    duplicate: bool


class BatchItemStored(TypedDict):
    id: str
    seq: int
    duplicate: bool


class BatchItemError(TypedDict, total=False):
    code: str
    message: str
    errors: List[FieldError]


class BatchItemFailed(TypedDict):
    index: int
    error: BatchItemError


class BatchResult(TypedDict):
    results: List[Union[BatchItemStored, BatchItemFailed]]
    failed: int


class StoredEvent(TypedDict):
    seq: int
    stored_at: str
    event: EventEnvelope


class EventPage(TypedDict):
    events: List[StoredEvent]
    next: Optional[str]


class CorrelationSummary(TypedDict):
    count: int
    first_timestamp: str
    last_timestamp: str
    sources: List[str]
    types: List[str]
    failed: bool
    failures: List[Dict[str, Any]]
    compensations: List[Dict[str, Any]]


class CorrelationTrace(TypedDict):
    correlation_id: str
    events: List[StoredEvent]
    truncated: bool
    summary: CorrelationSummary


class EventTypeInfo(TypedDict, total=False):
    type: str
    version: str
    description: str
    schema: Dict[str, Any]


StartPosition = Union[Literal["new", "all"], Dict[str, Union[int, str]]]
"""``"new"``, ``"all"``, ``{"seq": 42}`` or ``{"time": "2026-03-15T10:00:00Z"}``."""


class Consumer(TypedDict, total=False):
    name: str
    types: List[str]
    filter: Dict[str, Any]
    from_: StartPosition
    ack_wait: int
    max_deliver: int
    pending: int
    unacked: int
    redelivered: int
    last_delivered_seq: int
    ack_floor_seq: int
    created: str


class ConsumerDeleted(TypedDict):
    name: str
    deleted: bool


class FetchedEvent(TypedDict):
    seq: int
    delivery: int
    ack_token: str
    ack_deadline: str
    event: EventEnvelope


class AckError(TypedDict):
    code: str
    message: str


class AckOutcome(TypedDict, total=False):
    ok: bool
    error: AckError


class AckResult(TypedDict):
    acks: List[AckOutcome]
    naks: List[AckOutcome]


class DeadLetter(TypedDict, total=False):
    seq: int
    consumer: str
    reason: str
    delivery_count: int
    original_seq: int
    dead_lettered_at: str
    event: EventEnvelope


class DeadLetterPage(TypedDict, total=False):
    dead_letters: List[DeadLetter]
    next_after_seq: int


class RedriveItem(TypedDict, total=False):
    seq: int
    status: str
    consumer: str
    redriven_seq: int


class RedriveResult(TypedDict):
    results: List[RedriveItem]
    redriven: int


class TailEvent(TypedDict):
    """One event of :meth:`GatewayClient.tail` (Server-Sent Events): ``id`` is its stream sequence
    (resume after it with ``last_event_id``), ``type`` its event type, ``event`` the stored envelope."""

    id: int
    type: str
    event: EventEnvelope


class StreamClose(TypedDict, total=False):
    """The ``event: close`` record the gateway sends before it ends a stream."""

    reason: Literal["slow_consumer", "shutting_down", "error", "tenant_disabled", "key_revoked"]
    message: str
    code: str
    last_id: int
