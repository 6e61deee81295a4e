"""Keeping a local Ray node on loopback (``llmops serve --host 127.0.0.1``).

Ray binds its servers (GCS, raylet, object manager, workers, agents) to the node IP, which
it resolves to the machine's external address unless single-node mode is on
(``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``; see ``ray/_private/services.py:
get_node_ip_address``, Ray 2.60). The variable is inherited by every Ray process started
from the driver. One server ignores it: each Serve replica's inter-deployment gRPC server
binds ``[::]:0`` (``ray/serve/_private/replica.py``); replicas move it to loopback when
they start (:func:`bind_replica_servers_locally`, called by each deployment).
"""

from __future__ import annotations

import os
from typing import Any

#: Ray's switch for single-node mode, where the node IP is the loopback address.
SINGLE_NODE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

#: The function the replica binds its inter-deployment gRPC server with (Ray 2.60).
_BIND = "add_port_to_grpc_server"


def ray_on_loopback() -> None:
    """In the driver, before ``ray.init``: make the node Ray starts listen on loopback.
    The variable is read when Ray is imported, so the parsed constant is set as well."""
    os.environ[SINGLE_NODE_ENV] = "0"
    import ray._private.ray_constants as ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


def bind_replica_servers_locally() -> None:
    """In a Serve replica of a loopback node: bind the replica's inter-deployment gRPC
    server to 127.0.0.1 instead of every interface. No effect elsewhere."""
    if os.environ.get(SINGLE_NODE_ENV) != "0":
        return
    from ray.serve._private import replica

    original: Any = getattr(replica, _BIND, None)
    if original is None or getattr(original, "_llmops_loopback", False):
        return

    def add_port(server: Any, address: str) -> Any:
        if address.startswith("[::]:") or address.startswith("0.0.0.0:"):
            address = "127.0.0.1:" + address.rsplit(":", 1)[1]
        return original(server, address)

    add_port._llmops_loopback = True  # type: ignore[attr-defined]
    setattr(replica, _BIND, add_port)
