"""binance-margin-mcp: an MCP server for trading on Binance Margin safely."""

__version__ = "1.0.0"
