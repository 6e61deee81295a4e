"""Whether a set of CIDR blocks opens something to the internet.

"Open to the internet" means the union of the blocks covers every globally routable
address of a family, however it is spelled: ``0.0.0.0/0``, ``0.0.0.0/1`` + ``128.0.0.0/1``,
or every public range with the private ones left out. IPv4 and IPv6 are judged separately;
either one covered is enough. Every policy that reads CIDRs (security group rules, EKS
public endpoint allow-lists, ``aws:SourceIp`` conditions) asks this module.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

WHOLE: dict[int, Network] = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}

# Address space that is not reachable from the internet (RFC 6890 special-purpose blocks:
# private, shared, loopback, link-local, documentation, multicast, reserved). A union that
# covers everything else still reaches every internet host.
NOT_GLOBAL: dict[int, tuple[Network, ...]] = {
    4: tuple(
        ipaddress.ip_network(n)
        for n in (
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/4",
            "240.0.0.0/4",
        )
    ),
    6: tuple(
        ipaddress.ip_network(n)
        for n in ("::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8")
    ),
}


def parse(cidr: object) -> Network | None:
    """``cidr`` as a network (host bits ignored), or None when it is not a CIDR."""
    if not isinstance(cidr, str):
        return None
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None


def _subtract(blocks: list[Network], networks: Iterable[Network]) -> list[Network]:
    """``blocks`` with every address of ``networks`` taken out (as CIDR blocks)."""
    remaining = list(blocks)
    for network in ipaddress.collapse_addresses(networks):  # type: ignore[type-var]
        next_remaining: list[Network] = []
        for block in remaining:
            if block.version != network.version:
                next_remaining.append(block)
            elif network.subnet_of(block):  # type: ignore[arg-type]
                next_remaining.extend(block.address_exclude(network))  # type: ignore[arg-type]
            elif not block.subnet_of(network):  # type: ignore[arg-type]
                next_remaining.append(block)  # disjoint: CIDR blocks nest or do not meet
        remaining = next_remaining
        if not remaining:
            break
    return remaining


def _uncovered(version: int, covered: frozenset[Network]) -> Network | None:
    """A block of globally routable addresses of ``version`` outside ``covered``, if any.

    The special-purpose blocks count as covered, so every block left over after the
    subtraction holds only internet addresses."""
    remaining = _subtract([WHOLE[version]], [*covered, *NOT_GLOBAL[version]])
    return min(remaining) if remaining else None


@lru_cache(maxsize=4096)
def _family_uncovered(version: int, covered: frozenset[Network]) -> Network | None:
    return _uncovered(version, covered)


def uncovered_global(cidrs: Iterable[object], version: int) -> Address | None:
    """A globally routable address of IP ``version`` that none of ``cidrs`` contains, or
    None when together they cover every internet address of that family."""
    networks = frozenset(n for n in (parse(c) for c in cidrs) if n is not None and n.version == version)
    block = _family_uncovered(version, networks)
    return None if block is None else block.network_address


def covers_internet(cidrs: Iterable[object]) -> bool:
    """Whether the union of ``cidrs`` reaches every internet host of IPv4 or of IPv6."""
    blocks = [c for c in cidrs]
    return uncovered_global(blocks, 4) is None or uncovered_global(blocks, 6) is None


def internet_families(cidrs: Iterable[object]) -> list[str]:
    """``["0.0.0.0/0"]``, ``["::/0"]``, both or neither: the families ``cidrs`` open entirely."""
    blocks = [c for c in cidrs]
    return [str(WHOLE[v]) for v in (4, 6) if uncovered_global(blocks, v) is None]


def special_purpose(cidr: object) -> bool:
    """Whether ``cidr`` holds no internet address (private, loopback, multicast, ...)."""
    network = parse(cidr)
    return network is not None and not _subtract([network], NOT_GLOBAL[network.version])


def inside(cidr: object, allowed: Iterable[object]) -> bool:
    """Whether ``cidr`` lies within one of ``allowed``."""
    network = parse(cidr)
    if network is None:
        return False
    return any(
        outer is not None and outer.version == network.version and network.subnet_of(outer)  # type: ignore[arg-type]
        for outer in (parse(a) for a in allowed)
    )
