"""``floor explain AGENT`` against a real floor database: the last decision's evidence and the bar now."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from tradingfloor.cli import app
from tradingfloor.persistence.db import create_pool
from tradingfloor.persistence.migrate import migrate
from tradingfloor.persistence.repositories import upsert_agent

EVIDENCE = {
    "decision": "clone",
    "trades": "40",
    "wins": "36",
    "familySize": "1",
    "dsr": "0.9990",
    "passed": "true",
}
STATUS = {
    "phase": "Running",
    "stage": "Testing",
    "sizeMultiplier": "0.25",
    "performance": {
        "reportedAt": "2026-01-02T00:00:00Z",
        "capital": "1000",
        "trades": 40,
        "wins": 36,
        "losses": 4,
        "winRate": "0.9000",
        "breakEvenWinRate": "0.6000",
        "pnl": "80.5",
        "drawdown": "0.0100",
        "maxDrawdown": "0.0300",
        "sharpe": "9.1",
        "sharpeTrack": {"sharpe": "0.7000", "periods": 40, "skew": "-1.7", "kurtosis": "4.8"},
        "psr": "0.9999",
        "consecutiveLosses": 0,
    },
    "lastDecision": {
        "action": "clone",
        "reason": "momo-g1-abcdef (x=1): evidence",
        "at": "2026-01-02T00:00:00Z",
        "evidence": EVIDENCE,
    },
}


async def _seed(url: str) -> None:
    await migrate(url)
    pool = await create_pool(url)
    try:
        spec = {"strategy": "momentum", "market": {"asset": "BTC"}, "lifecycle": "Active"}
        await upsert_agent(pool, "momo", "TraderAgent", spec, status=STATUS)
        await upsert_agent(
            pool, "momo-g1-abcdef", "TraderAgent", {**spec, "lineage": {"parent": "momo"}}, parent="momo"
        )
    finally:
        await pool.close()


def test_explain_prints_evidence_from_the_database(db_url):
    asyncio.run(_seed(db_url))  # the command runs its own event loop, so the test is synchronous
    result = CliRunner().invoke(app, ["explain", "momo"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "momo: lifecycle Active, phase Running, stage Testing, size × 0.25" in out
    assert "40 trades, 36 wins (90.0%), break-even 0.600" in out
    assert "last decision: clone" in out and "dsr" in out and "0.9990" in out
    assert "clone bar now (family of 2): met" in out  # the clone counts in the family
    missing = CliRunner().invoke(app, ["explain", "nobody"], env={"DATABASE_URL": db_url})
    assert missing.exit_code == 1 and "no TraderAgent named 'nobody'" in missing.output


async def test_explain_reads_the_resource_from_kubernetes():
    """--kube: the resource's status through the API (the kmock emulator the operator tests use)."""
    import kmock

    from tests.operator.conftest import NS, apply, patch, trader
    from tests.operator.kube_emulator import FloorEmulator
    from tradingfloor.decisions import FloorPolicy
    from tradingfloor.decisions.explain import explain, family_size
    from tradingfloor.status.commands import _from_kubernetes

    async with FloorEmulator() as emu, kmock.Server(emu):
        await apply(emu, trader("momo"))
        await patch(
            emu,
            f"/apis/tradingfloor.dev/v1alpha1/namespaces/{NS}/traderagents/momo/status",
            {"status": STATUS},
        )
        spec, status, parents = await _from_kubernetes("momo", NS, str(emu.url).rstrip("/"))
    assert status["lastDecision"]["evidence"] == EVIDENCE and parents == {"momo": None}
    text = "\n".join(explain("momo", spec, status, FloorPolicy(), family_size("momo", parents)))
    assert "last decision: clone" in text and "0.9990" in text and "clone bar now (family of 1): met" in text
