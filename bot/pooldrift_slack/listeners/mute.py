"""``/pooldrift mute <pool> <duration>`` and ``/pooldrift unmute <pool>``: the drift watch posts
no alert about a muted pool until the mute ends. The words are checked and the watch's state
found before any request; then the pool is resolved with the client and the mute stored.
"""

from __future__ import annotations

from datetime import timedelta

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from pooldrift.client import WorkspaceClient
from pooldrift.errors import ConfigurationError, InvalidInputError
from pooldrift.validation import validate_pool_ref

from ..answer import Payload, answer
from ..audit import Audit
from ..blocks import COMMAND, code, error_message
from ..deps import Deps
from ..kit import clip, esc
from ..watch_blocks import muted_message, unmuted_message
from ..watch_state import parse_mute_duration
from ..words import describe

__all__ = ["MUTE", "UNMUTE", "mute_or_unmute"]

MUTE, UNMUTE = "mute", "unmute"
_NO_STATE = (
    ":gear: Muting needs the drift watch's state, and none is set up here: whoever runs pooldrift "
    "sets `POOLDRIFT_STATE` (the watch's SQLite file) or `POOLDRIFT_REDIS_URL`."
)


def _words(args: str, *, mute: bool) -> tuple[str, timedelta | None]:
    """The pool asked for, and how long (a mute only); ``InvalidInputError`` when malformed."""
    if not mute:
        if not args:
            raise InvalidInputError(f"say which pool, e.g. `{COMMAND} unmute <pool>`", field="pool")
        return validate_pool_ref(args), None
    ref, _, length = args.rpartition(" ")
    if not ref.strip():
        raise InvalidInputError(
            f"say which pool and for how long, e.g. `{COMMAND} mute <pool> 2h`", field="pool"
        )
    return validate_pool_ref(ref), parse_mute_duration(length)


async def mute_or_unmute(deps: Deps, ack: AsyncAck, respond: AsyncRespond, audit: Audit, args: str) -> None:
    mute = audit.operation == MUTE
    try:  # refused before any request: the ack is the answer
        ref, length = _words(args, mute=mute)
    except InvalidInputError as exc:
        await ack(**error_message(describe(exc).text))
        audit.write(exc.outcome)
        return
    try:
        settings = deps.watch.for_mutes()
    except ConfigurationError as exc:  # a bad watch setting: not about reaching Huawei Cloud
        await ack(**error_message(f":gear: The drift watch's settings are wrong: {esc(exc.message)}."))
        audit.write(exc.outcome)
        return
    if settings is None:
        await ack(**error_message(_NO_STATE))
        audit.write("configuration")
        return
    audit.pool = ref
    doing = "Muting" if mute else "Unmuting"
    await ack(text=f":mute: {doing} pool {code(clip(ref, 80))}…", response_type="ephemeral")

    async def work(client: WorkspaceClient) -> Payload:
        pool = await client.resolve_pool(ref)
        async with deps.watch.writer(settings) as store:
            if length is None:
                was_muted = await store.unmute(pool.id)
                return unmuted_message(pool.name, pool.id, was_muted=was_muted)
            until = deps.watch.clock() + length
            await store.mute(pool.id, until)
            return muted_message(pool.name, pool.id, until=until, length=length, zone=settings.zone)

    await answer(work, deps, respond, audit)
