"""Conversation state: a versioned, JSON-serialisable dict the pipeline stores between turns.

Shape (v1): `{"v": 1, "node": id|None, "vars": {}, "retries": {node_id: n}, "waiting": None |
{"node": id, "token": str|None}, "history": [{"role": "user"|"assistant", "text"}], "finished": bool,
"paused": bool, "turn": int, "flow": fingerprint|None}`. Old shapes are upgraded by `upgrade_state`, so a
stored conversation survives engine releases.
"""

from __future__ import annotations

from typing import Any

STATE_VERSION = 1
HISTORY_LIMIT = 12


def new_state() -> dict[str, Any]:
    """State of a conversation that has not started."""
    return {
        "v": STATE_VERSION,
        "node": None,
        "vars": {},
        "retries": {},
        "waiting": None,
        "history": [],
        "finished": False,
        "paused": False,
        "turn": 0,
        "flow": None,
    }


def _v0_to_v1(old: dict[str, Any]) -> dict[str, Any]:
    """v0 (prototype) stored `{"current": id, "variables": {...}, "awaiting": bool}`."""
    state = new_state()
    state["node"] = old.get("current")
    state["vars"] = dict(old.get("variables") or {})
    if old.get("awaiting") and old.get("current"):
        state["waiting"] = {"node": old["current"], "token": None}
    return state


def upgrade_state(state: dict[str, Any] | None) -> dict[str, Any]:
    """Return `state` as the current version (a fresh state for None); raises ValueError if unusable."""
    if state is None:
        return new_state()
    if not isinstance(state, dict):
        raise ValueError("conversation state must be a JSON object")
    version = state.get("v", 0)
    if version == 0:
        state = _v0_to_v1(state)
    elif version != STATE_VERSION:
        raise ValueError(
            f"conversation state version {version!r} is not supported (expected {STATE_VERSION})"
        )
    fresh = new_state()
    fresh.update(state)
    return fresh


def resume_bot(state: dict[str, Any]) -> dict[str, Any]:
    """State after a manager hands the conversation back: unpaused, restarting from the trigger."""
    upgraded = upgrade_state(state)
    return {**upgraded, "paused": False, "waiting": None, "node": None, "finished": True}
