"""The example's client is the ``platforma_events`` package in clients/python (standard library
only): ``pip install ./clients/python``, then ``from platforma_events import GatewayClient``.

This module keeps ``from gateway_client import GatewayClient, GatewayProblem`` working for the
examples here: it uses the installed package, or else the one in this repository.
"""

from __future__ import annotations

import os
import sys

try:
    from platforma_events import GatewayClient, GatewayProblem
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
    from platforma_events import GatewayClient, GatewayProblem

__all__ = ["GatewayClient", "GatewayProblem"]
