"""Bad order bodies get a 400 naming what is wrong, through a real HTTP client against the running
simulator: non-finite and absurd numbers in every field of the order struct, deep nesting (which
crashed the whole process: the libraries the simulator imports raise Python's recursion limit),
bodies that are not JSON. After all of it the simulator still serves a good order."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from tradingfloor.sim.model import SimConfig
from tradingfloor.sim.request_body import MAX_DEPTH, BadBody, nesting_depth, parse_body
from tradingfloor.sim.server import SimHandle, start_simulator

BAD_NUMBERS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999999",
    "-1e999999",
    "1e-999999",
    "0.5",
    '"NaN"',
    '"Infinity"',
    '"1e999999"',
    '"-5"',
    "true",
    "null",
    "{}",
    "[]",
]
FIELDS = ["makerAmount", "takerAmount", "salt", "timestamp", "expiration", "signatureType", "tokenId"]


@dataclass
class Venue:
    handle: SimHandle
    session: aiohttp.ClientSession
    order: dict  # a well-formed BUY order for a live token (signatures are not checked)

    async def post(self, path: str, body: str | bytes, method: str = "POST") -> tuple[int, str]:
        async with self.session.request(method, self.handle.url + path, data=body) as r:
            return r.status, await r.text()

    def order_body(self, field: str, raw_value: str) -> str:
        """The good order with ``field`` replaced by ``raw_value`` written verbatim into the JSON."""
        body = json.dumps({"order": {**self.order, field: "@@"}, "owner": "t", "orderType": "GTC"})
        return body.replace('"@@"', raw_value)


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    handle = await start_simulator("127.0.0.1", 0, SimConfig(seed=1, assets=("BTC",)), speed=5)
    try:
        async with aiohttp.ClientSession() as session:
            slug = f"btc-updown-15m-{handle.clock.start_ms // 1000}"
            async with session.get(f"{handle.url}/events", params={"slug": slug}) as r:
                market = (await r.json())[0]["markets"][0]
            token = json.loads(market["clobTokenIds"])[0]
            order = {
                "salt": 7,
                "maker": "0x" + "11" * 20,
                "signer": "0x" + "11" * 20,
                "tokenId": token,
                "makerAmount": "200000",  # 0.20 USDC for 10 shares: rests far below the book
                "takerAmount": "10000000",
                "side": "BUY",
                "expiration": "0",
                "signatureType": 0,
                "timestamp": "0",
                "metadata": "0x" + "00" * 32,
                "builder": "0x" + "00" * 32,
                "signature": "0x",
            }
            yield Venue(handle, session, order)
    finally:
        await handle.stop()


async def test_bad_numbers_in_any_order_field_get_a_400_naming_the_field(venue: Venue) -> None:
    for field in FIELDS:
        for raw in BAD_NUMBERS:
            status, text = await venue.post("/order", venue.order_body(field, raw))
            assert status == 400, (field, raw, status, text)
            assert f"order.{field}" in json.loads(text)["errorMsg"], (field, raw, text)
            # in a batch the same order is refused on its own line, the request itself succeeds
            status, text = await venue.post("/orders", f"[{venue.order_body(field, raw)}]")
            assert status == 200, (field, raw, status, text)
            assert f"order.{field}" in json.loads(text)[0]["errorMsg"], (field, raw, text)


async def test_amounts_beyond_any_real_order_are_refused_before_arithmetic(venue: Venue) -> None:
    for raw in ('"1' + "0" * 30 + '"', "1" + "0" * 30, '"0"', "0"):
        status, text = await venue.post("/order", venue.order_body("makerAmount", raw))
        assert status == 400 and "order.makerAmount" in json.loads(text)["errorMsg"], (raw, text)


@pytest.mark.parametrize("path", ["/order", "/orders", "/books", "/prices", "/midpoints"])
async def test_deep_nesting_is_a_400_and_the_simulator_stays_up(venue: Venue, path: str) -> None:
    for body in ("[" * 100_000 + "]" * 100_000, '{"order":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)):
        status, text = await venue.post(path, body)
        assert status == 400, (path, status, text[:200])
        assert "nests deeper than" in json.loads(text)["error"]
    status, text = await venue.post("/order", "[" * 100_000, method="DELETE")
    assert status == 400 and "nests deeper than" in text
    async with venue.session.get(venue.handle.url + "/ok") as r:
        assert r.status == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"order": ', "not valid JSON"),
        (b'"' + b'\\"' * 50_000, "not valid JSON"),  # an unclosed string of escaped quotes
        (b"[" + b"9" * 5000 + b"]", "not valid JSON"),  # an integer past Python's digit limit
    ],
)
async def test_bodies_that_are_not_json_are_named(venue: Venue, body: bytes, message: str) -> None:
    status, text = await venue.post("/order", body)
    assert status == 400 and message in json.loads(text)["error"], text


async def test_a_deep_websocket_request_is_ignored_and_the_socket_keeps_serving(venue: Venue) -> None:
    async with venue.session.ws_connect(venue.handle.market_ws_url) as ws:
        await ws.send_str("[" * 100_000 + "]" * 100_000)
        await ws.send_str("PING")
        assert (await ws.receive(timeout=10)).data == "PONG"


async def test_a_good_order_still_rests_after_the_bad_ones(venue: Venue) -> None:
    await venue.post("/order", venue.order_body("makerAmount", "NaN"))
    status, text = await venue.post("/order", venue.order_body("makerAmount", '"200000"'))
    assert status == 200 and json.loads(text)["status"] == "live", text


def test_nesting_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth(b'{"a": "' + b"[" * 100 + b'"}') == 1
    assert nesting_depth(b'["\\"' + b"[" * 40 + b'"]', limit=10) == 1  # an escaped quote stays inside
    assert nesting_depth(b"[" * 40 + b"]" * 40, limit=10) == 11  # counting stops past the limit
    assert nesting_depth(b'[{"a": [1, {"b": []}]}]' * 20) == 5


def test_parse_body_keeps_numbers_exact_and_names_the_problem() -> None:
    parsed = parse_body(b'{"a": 1e999999, "b": NaN, "c": 0.1}')
    assert str(parsed["a"]) == "1E+999999" and parsed["b"].is_nan()  # not float inf / nan
    assert str(parsed["c"]) == "0.1"
    with pytest.raises(BadBody, match="nests deeper than 3 levels"):
        parse_body(b"[[[[1]]]]", max_depth=3)
