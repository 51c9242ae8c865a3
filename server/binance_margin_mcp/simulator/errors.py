"""The simulator's one error type: Binance's {"code", "msg"} with the HTTP status Binance uses."""

from __future__ import annotations


class SimError(Exception):
    """Raised anywhere in the simulator; becomes `{"code": code, "msg": msg}` with `http_status`."""

    def __init__(self, code: int, msg: str, http_status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}
