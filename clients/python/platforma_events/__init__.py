"""A client for the PLATFORMA Event Gateway, standard library only (Python 3.8+, urllib).

    from platforma_events import GatewayClient, GatewayProblem

    client = GatewayClient("http://127.0.0.1:8080", api_key)
    stored = client.publish({"type": "order.created", "source": "billing", "data": {"order_id": "ord_1"}})

Every error the gateway answers is raised as :class:`GatewayProblem` with its stable ``code``.
The contract is the gateway's openapi/openapi.json.
"""

from .client import GatewayClient, GatewayProblem
from .types import *  # noqa: F401,F403

__all__ = ["GatewayClient", "GatewayProblem"]
__version__ = "0.1.0"
