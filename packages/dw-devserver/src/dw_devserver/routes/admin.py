"""Dev-only routes: move the virtual clock (``POST /api/dev/clock/skip``) and read it."""

from __future__ import annotations

from dw_devserver.clock import iso
from dw_devserver.http import ApiError, Ctx, Fields, Reply, RouteTable

table = RouteTable()
routes = table.routes


@table.get("/api/dev/clock", plane="discovery", roles=("admin", "operator"))
async def clock(ctx: Ctx) -> Reply:
    """The server clock."""
    now = ctx.rt.clock.now()
    return {"virtual": ctx.rt.clock.virtual, "now": now, "now_iso": iso(now)}


@table.post("/api/dev/clock/skip", plane="discovery", roles=("admin",))
async def skip(ctx: Ctx) -> Reply:
    """Move server time forward by ``seconds`` and fire everything that came due."""
    f = Fields(ctx.body)
    seconds = ctx.body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        f.fail("seconds", "The seconds field must be a number >= 0.")
    f.check()
    if not ctx.rt.clock.virtual:
        raise ApiError(
            409, "virtual_clock_disabled", "Start the server with virtual_clock=True to skip time."
        )
    assert isinstance(seconds, (int, float))
    ctx.rt.clock.advance(float(seconds))
    await ctx.rt.scheduler.settle()
    now = ctx.rt.clock.now()
    return {"virtual": True, "now": now, "now_iso": iso(now)}
