"""The bot taking a conversation back from a person: one engine step of kind `handback`.

Run by the `hand_back` job (webapp/services/handoff.py enqueues it) under the person's lock, like a
follow-up timer: the engine asks the pending question again, or goes on after the `handoff` node
(flows.engine), and the replies go out the usual way (stored claimed, sent, results recorded).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flows.turn import TurnEvent
from webapp.extensions import db
from webapp.models.base import as_utc, utcnow

from . import store, usage
from .locks import contact_lock
from .turns import contact_dict, execute_turn, persist_turn, prepare_turn, send_turn, waiting_for_earlier_turn

log = logging.getLogger(__name__)


def process_hand_back(conversation_id: int, handed_back_at: float) -> None:
    """Nothing happens when a person took the conversation over again, or the customer wrote after the
    hand back (`handed_back_at`, a UNIX time): that message's turn went on already."""
    loaded = store.load_conversation(conversation_id)
    if loaded is None or loaded.contact is None:
        db.session.commit()
        return
    channel, contact = loaded.channel, loaded.contact
    with contact_lock(f"{channel.id}:{contact.external_user_id}", while_blocked=waiting_for_earlier_turn):
        loaded = store.load_conversation(conversation_id) or loaded
        tenant, conv = loaded.tenant, loaded.conv
        assert conv is not None
        since = datetime.fromtimestamp(handed_back_at, UTC)
        last = as_utc(conv.last_inbound_at)
        if (conv.bot_paused or tenant.status != "active" or (last is not None and last > since)
                or not usage.has_room_for_reply(tenant, loaded.totals)):
            log.info("conversation %s: nothing to do after the hand back", conversation_id)
            db.session.commit()
            return
        tevent = TurnEvent(kind="handback", channel=channel.type, text="", meta={},
                           contact=contact_dict(contact, channel), at=utcnow())
        prepared = prepare_turn(tenant, channel, conv, tevent, f"hb{conversation_id}:{int(handed_back_at * 1000)}",
                                None, None)
        if prepared is None:  # no flow runs this conversation: the next message starts one
            db.session.commit()
            return
        send_turn(prepared, persist_turn(prepared, execute_turn(prepared)))
        db.session.commit()
