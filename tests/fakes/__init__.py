"""Test doubles for the Binance REST API; independent of binance_margin_mcp by design."""

from .fake_binance import FakeBinance, RecordedRequest
from .verify import split_signed, verify_ed25519, verify_hmac, verify_rsa

__all__ = ["FakeBinance", "RecordedRequest", "split_signed", "verify_ed25519", "verify_hmac", "verify_rsa"]
