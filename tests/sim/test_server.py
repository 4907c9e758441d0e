"""The simulator's front door: routing, the control socket, restarts, and the command line."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import pytest
import websockets
from websockets.exceptions import InvalidStatus
from websockets.protocol import State

from finxtui.sim.credentials import DEMO_FINX_KEY
from finxtui.sim.server import Simulator, route
from finxtui.sim.settings import SimSettings
from tests.sim.wsclient import Client


@pytest.mark.parametrize(("path", "source"), [
    ("/bitfinex/ws/2", "bitfinex"), ("/ws/2", "bitfinex"), ("/bitmex/realtime", "bitmex"),
    ("/realtime?subscribe=trade:XBTUSD", "bitmex"), ("/finazon/v1?apikey=x", "finazon"), ("/v1", "finazon"),
    ("/finx/streaming/KEY/BTC:USD", "finx"), ("/streamer/KEY", "finx"), ("/finx/backend/?APIKey=k", "finx"),
    ("/control", "control"), ("/bitfinex/realtime", None), ("/nope", None), ("/", None),
])
def test_route(path: str, source: str | None) -> None:
    assert route(path) == source


async def test_unknown_path_is_404(sim: Simulator) -> None:
    with pytest.raises(InvalidStatus) as info:
        await websockets.connect(sim.url + "/nowhere", open_timeout=5)
    assert info.value.response.status_code == 404


async def test_control_socket_steps_reports_and_rejects_unknown_ops(paused_sim: Simulator) -> None:
    async with Client(paused_sim.url + "/control") as control:
        await control.send({"op": "step", "n": 25})
        assert await control.recv() == {"ok": True, "op": "step", "result": 25}
        await control.send({"op": "stats"})
        stats = (await control.recv())["result"]
        assert stats["steps"] == 25 and stats["rate"] == 0
        await control.send({"op": "explode"})
        reply = await control.recv()
        assert reply["ok"] is False and "unknown fault" in reply["error"]
        await control.send("not json")
        assert (await control.recv())["ok"] is False


async def test_restart_drops_clients_refuses_then_serves_again(sim: Simulator) -> None:
    client = await Client(sim.base_url("bitfinex") + "/ws/2").__aenter__()
    await client.recv()
    restart = asyncio.create_task(sim.faults.restart(downtime=0.6))
    with pytest.raises(websockets.ConnectionClosed):
        await client.recv(timeout=3)
    with pytest.raises((OSError, InvalidStatus)):  # the venue is down for the restart's downtime
        await websockets.connect(sim.base_url("bitfinex") + "/ws/2", open_timeout=1)
    await restart
    async with Client(sim.base_url("bitfinex") + "/ws/2") as again:
        assert (await again.recv())["event"] == "info"


async def test_the_manual_clock_moves_only_when_advanced() -> None:
    async with Simulator(seed=3, rate=200, settings=SimSettings(manual_time=True)) as manual:
        assert manual.loop_time() == 0.0 and manual.stats()["steps"] == 0, "nothing runs by itself"
        manual.advance(0.5)
        assert manual.loop_time() == 0.5
        assert manual.stats()["steps"] == 100, "the market steps at its rate on the venue clock"
        with pytest.raises(ValueError):
            manual.advance(-1.0)
    async with Simulator(seed=3, rate=0) as live:
        with pytest.raises(RuntimeError):
            live.advance(1.0)


async def test_settings_change_while_running(manual_sim: Simulator) -> None:
    manual_sim.settings.finx_idle_limit = 0.2
    async with Client(manual_sim.base_url("finx") + f"/streamer/{DEMO_FINX_KEY}") as client:
        await client.send({"APIKey": DEMO_FINX_KEY, "functionName": "keepAlive"})
        assert await client.recv() == {"keepAlive": True}
        manual_sim.advance(0.3)
        with pytest.raises(websockets.ConnectionClosed) as info:
            await client.recv(timeout=3)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001


def test_sim_command_prints_urls_and_stops_cleanly_on_ctrl_c() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "finxtui", "sim", "--port", "0", "--seed", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        lines = []
        assert proc.stdout is not None
        while not any("Ctrl-C" in line for line in lines):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            lines.append(line)
        text = "".join(lines)
        for source in ("bitfinex", "bitmex", "finx", "finazon"):
            assert re.search(rf"{source}\s+ws://127\.0\.0\.1:\d+/{source}", text), text
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "simulator stopped" in out
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_stop_cuts_a_client_that_never_answers_the_close() -> None:
    """A client that has stopped reading never answers the close frame: ``stop`` gives it a grace, then cuts it,
    rather than leave it open past websockets' close timeout. Every connection is closed when ``stop`` returns."""
    sim = await Simulator(seed=11, rate=0).start()
    port = int(sim.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        # A bare opening handshake, then silence: this client reads and answers nothing more.
        writer.write(f"GET /bitfinex/ws/2 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 101"), head
        async with asyncio.timeout(10):
            while not sim.connections["bitfinex"]:
                await asyncio.sleep(0.01)
        connections = [conn.ws for conn in sim.connections["bitfinex"]]
        await sim.stop()
        assert all(ws.state is State.CLOSED for ws in connections), [ws.state for ws in connections]
    finally:
        writer.close()
        await sim.stop()
