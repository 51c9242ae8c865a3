"""`python -m binance_margin_mcp` = the `binance-margin-mcp` command."""

from binance_margin_mcp.cli import main

raise SystemExit(main())
