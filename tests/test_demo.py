"""The scripted demo runs end to end on a fresh paper account."""

from __future__ import annotations

from binance_margin_mcp.demo import run_demo


def test_demo_borrows_fills_a_margin_buy_repays_and_shows_interest(capsys):
    """Every step succeeds; the MARGIN_BUY order fills after the price move; interest rows are listed."""
    assert run_demo() == 0
    out = capsys.readouterr().out
    assert "paper (Paper)" in out or '"name": "paper"' in out
    assert '"status": "FILLED"' in out
    assert '"type": "ON_BORROW"' in out and '"type": "PERIODIC"' in out
    assert "ERROR" not in out


def test_the_demo_explains_margin_level_and_repayment_and_ends_with_next_steps(capsys):
    assert run_demo() == 0
    out = capsys.readouterr().out
    assert "Margin level 999 means no debt" in out
    assert "The repayment paid the accrued interest first, then the principal" in out
    tail = out.split("Next steps:")[1]
    assert "claude mcp add" in tail and "SKILL.md" in tail and "TOOLS.md" in tail and "--prices" in tail
