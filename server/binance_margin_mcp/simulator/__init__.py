"""The paper exchange: a local, stateful imitation of Binance's margin REST API.

`exchange` holds the state and the semantics of every catalog endpoint; `http` checks requests the
way Binance does (keys, timestamp, signature over the raw bytes, parameters, weights) and routes
them to the exchange, in process (an httpx transport) or on a loopback port.
"""
