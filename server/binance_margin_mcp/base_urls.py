"""Which base URLs an account's key may be sent to: official Binance API hosts per network, or loopback."""

from __future__ import annotations

import ipaddress
import re

from binance_margin_mcp.errors import AccountError

DEFAULT_BASE_URLS: dict[str, str] = {
    "Mainnet": "https://api.binance.com",
    "Testnet": "https://testnet.binance.vision",
    "Paper": "paper://local",
}
HOST_NETWORK: dict[str, str] = {h: "Mainnet" for h in ("api.binance.com", "api-gcp.binance.com")}
HOST_NETWORK |= {f"api{i}.binance.com": "Mainnet" for i in range(1, 5)}
HOST_NETWORK |= {"testnet.binance.vision": "Testnet", "demo-api.binance.com": "Testnet"}

_URL = re.compile(r"(?i)(https?)://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?/?")


def validate_base_url(url: str, environment: str | None = None) -> str:
    """Normalized URL, or AccountError; with `environment`, a host of the other network is refused too."""
    if url == DEFAULT_BASE_URLS["Paper"] and environment in (None, "Paper"):
        return url
    match = _URL.fullmatch(url.strip())
    if match is None:  # never echo the URL: it may carry user info or a pasted secret
        raise AccountError("Base URL must be scheme://host[:port] with no path, query or user info")
    scheme, host, port = match[1].lower(), match[2].lower(), match[3]
    network = HOST_NETWORK.get(host) or _loopback(host)
    if port is not None and not 0 < int(port) < 65536:
        raise AccountError("Base URL has an invalid port")
    if network is None or (network != "loopback" and (scheme != "https" or port not in (None, "443"))):
        raise AccountError(
            "Base URL is not an official Binance API host (https) or a loopback address; the key will not be sent there"
        )
    if environment is not None and network not in ("loopback", environment):
        # Testnet and Paper accounts skip the mainnet confirmation gate: they must never reach mainnet.
        raise AccountError(f"Base URL is a Binance {network} host but the Environment is {environment}")
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def _loopback(host: str) -> str | None:
    if host == "localhost":
        return "loopback"
    try:  # strict dotted IPv4 / bracketed IPv6 only: "127.1" or "127.0.0.1.nip.io" are not loopback
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return "loopback" if ip.is_loopback and (ip.version == 6) == host.startswith("[") else None
