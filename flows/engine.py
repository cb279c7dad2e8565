"""The interpreter: one `step` per inbound event, from the current node until a node waits or the flow ends.

`step` is pure with respect to its inputs: it copies the state, asks `services` for anything external and
returns what to send, what to store and which effects to perform. Problems caused by flow content (a
runaway loop, a node failing) come back as `StepResult.error` and a trace entry, never as an exception.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from flows import faq, grounding, i18n, media
from flows.compiler import Flow
from flows.handoff import asks_for_human
from flows.nodes.base import Node, Result, Runtime
from flows.services import Services
from flows.state import HISTORY_LIMIT, new_state, upgrade_state
from flows.text_limits import fit_text
from flows.turn import Effect, OutboundMessage, StepResult, TurnEvent

__all__ = ["MAX_STEPS", "Effect", "OutboundMessage", "StepResult", "TurnEvent", "step"]

MAX_STEPS = 200


def _note(text: str) -> dict[str, Any]:
    return {"node_id": None, "type": "engine", "port": None, "vars_changed": {}, "warnings": [text]}


def _entry(flow: Flow, event: TurnEvent) -> tuple[str | None, str]:
    """The trigger a new run starts at: the first one matching the event, else the first one. A comment
    starts only at a trigger that accepts comments and matches it (`Flow.entries`), never at a fallback."""
    for trigger_id in flow.entries(event.kind):
        ok, reason = flow.nodes[trigger_id].matches(event)  # type: ignore[attr-defined]
        if ok:
            return trigger_id, reason
    if event.kind == "comment":
        return None, "no trigger of this flow accepts this comment; nothing runs"
    if not flow.triggers:
        return None, "flow has no trigger"
    return flow.triggers[0], "no trigger filter matched; started at the first trigger"


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    return {
        **state,
        "vars": dict(state["vars"]),
        "retries": dict(state["retries"]),
        "history": list(state["history"]),
    }


def _run(node: Node, rt: Runtime, resume: bool) -> Result:
    rt.warnings = []
    return node.resume(rt) if resume else node.run(rt)


def step(flow: Flow, state: dict[str, Any] | None, event: TurnEvent, services: Services) -> StepResult:
    """Advance one conversation by one event and return what to send, store and do.

    A `comment` is its own entry point: it never answers a waiting node, it starts a run at a trigger
    that accepts it. If that run ends waiting (or handed off), its state becomes the conversation's; if
    it finishes, a question the conversation was waiting on stays pending with its variables, and the
    result says so (`state_kept`: the caller keeps the conversation on the flow that asked it).

    A message asking for a person (`services.context.handoff_keywords`) hands the conversation off before
    any node runs, even while a question waits for its answer (the question stays pending). A `handback`
    event (a person gave the conversation back) asks the pending question again, or goes on after the
    `handoff` node that paused the bot.

    Then keyword triggers: one that matches starts a new run even while a question waits (unless it is the
    trigger the running form started at), and comes before a catch-all trigger placed ahead of it. After a
    run ended, a message no keyword trigger takes gets a confident FAQ answer, else a completed form is not
    restarted until the flow's `restart_after_minutes` (`_after_end`); every decision is a trace note.
    """
    if event.text is None or event.meta is None or event.contact is None:  # media-only messages etc.
        event = replace(event, text=event.text or "", meta=event.meta or {}, contact=event.contact or {})
    try:
        st = _copy_state(upgrade_state(state))
    except ValueError as exc:
        return StepResult([], new_state(), [], [_note(str(exc))], False, str(exc))
    trace: list[dict[str, Any]] = []
    if event.kind == "handback":
        return _hand_back(flow, st, event, services, trace)
    if st["paused"]:
        trace.append(_note("conversation is handed off to a human; the bot stays silent"))
        return StepResult([], st, [], trace, False, state_kept=True)
    waiting = st["waiting"]
    if event.kind == "comment":
        return _comment_run(flow, st, event, services, trace)
    phrase = asks_for_human(event.text, services.context.handoff_keywords) if event.kind != "timeout" else None
    if phrase is not None:
        return _asked_for_human(flow, st, event, services, phrase, trace)
    if media.unanswerable(flow, st, event):  # a photo, voice note...: never an empty answer (flows/media.py)
        return media.text_only_reply(st, event, services, trace)
    if event.kind == "timeout":
        token = event.meta.get("token")
        pending = waiting.get("token") if waiting else None
        if not pending or pending != token or waiting.get("node") not in flow.nodes:
            trace.append(_note(f"stale follow-up timeout (token {token!r}) ignored"))
            return StepResult([], st, [], trace, st["finished"], state_kept=True)
    if st["flow"] and st["flow"] != flow.fingerprint:
        trace.append(_note("state was saved by a different flow version; continuing on this one"))
    keyword = keyword_entry(flow, event)
    resume = bool(waiting) and waiting.get("node") in flow.nodes
    if resume and keyword is not None and _entry_key(flow, keyword[0]) != st.get("entry"):
        trace.append(_note(f"a keyword trigger comes before the pending question {waiting['node']!r}: "
                           f"{keyword[1]}; starting there"))
        resume = False
    elif st["finished"] and not waiting and keyword is None and event.kind in MESSAGE_KINDS:
        answered = _after_end(flow, st, event, services, trace)
        if answered is not None:
            return answered
    st["flow"] = flow.fingerprint
    st["turn"] += 1
    start_note: str | None = None
    if waiting and not resume and waiting.get("node") not in flow.nodes:
        trace.append(_note(f"waiting node {waiting.get('node')!r} is not in this flow; starting over"))
    if resume:
        node = flow.nodes[waiting["node"]]
    else:
        if st["finished"] or waiting:
            st.update(vars={}, retries={}, finished=False)
        st.pop("asked", None)  # a new run: it has asked nothing yet (what makes it a form, `_run_from`)
        entry, reason = keyword if keyword is not None else _entry(flow, event)
        if entry is None:
            return StepResult([], st, [], [_note(reason)], True, reason)
        node = flow.nodes[entry]
        st["entry"] = _entry_key(flow, entry)
        start_note = f"started here: {reason}"
    return _run_from(flow, st, node, resume, start_note, event, services, trace)


#: Events a customer typed: the ones keyword triggers and the FAQ answer after a flow ended apply to.
MESSAGE_KINDS = frozenset({"dm", "message", "webchat"})


def _entry_key(flow: Flow, trigger_id: str) -> str:
    """Which trigger of which flow version a run started at (kept in the state as `entry`)."""
    return f"{flow.fingerprint}:{trigger_id}"


def keyword_entry(flow: Flow, event: TurnEvent) -> tuple[str, str] | None:
    """The first trigger with keywords that matches a typed message, with the reason. Precedence, the same
    everywhere: a request for a person, then keyword triggers (also over a pending question, unless it is
    the trigger the running form started at), then an FAQ answer inside a form, then the form's own
    validation and re-ask (flows/nodes/ask.py)."""
    if event.kind not in MESSAGE_KINDS:
        return None
    for trigger_id in flow.entries(event.kind):
        trigger = flow.nodes[trigger_id]
        if trigger.has_keywords:  # type: ignore[attr-defined]
            ok, reason = trigger.matches(event)  # type: ignore[attr-defined]
            if ok:
                return trigger_id, reason
    return None


def _after_end(flow: Flow, st: dict[str, Any], event: TurnEvent, services: Services,
               trace: list[dict[str, Any]]) -> StepResult | None:
    """The first message after a run ended, with no keyword trigger matched: a confident FAQ answer; else,
    when the ended run was this flow's and it asked questions (a completed form), not a restart unless
    `restart_after_minutes` have passed, but a short "we have your request" with the offer of a person.
    None: the flow starts (again) as usual. The conversation stays where it was (`state_kept`)."""
    hit = faq.best_answer(event.text, services.faq_entries())
    if hit is not None:
        entry, score = hit
        trace.append(_note(f"after the flow ended: no keyword trigger matched; answered from the FAQ "
                           f"('{entry.get('q', '')}', score {score:.0f})"))
        outbound = [OutboundMessage(fit_text(str(entry.get("a") or ""), services.context.text_limit))]
        return _kept(st, event, outbound, trace)
    ended = st.get("ended") or {}
    same = ended.get("flow") == flow.fingerprint or bool(ended.get("name") and ended.get("name") == flow.name)
    if not (same and ended.get("form")):
        trace.append(_note("after the flow ended: no keyword trigger or FAQ answer matched; starting the flow"))
        return None
    minutes = flow.restart_after_minutes
    waited = _minutes_since(ended.get("at"), event)
    if minutes is not None and waited is not None and waited >= minutes:
        trace.append(_note(f"after the flow ended: {waited:.0f} min passed (restart_after_minutes "
                           f"{minutes}); starting the flow again"))
        return None
    why = ("the flow does not restart by itself (restart_after_minutes not set)" if minutes is None
           else f"restart_after_minutes is {minutes}, {waited or 0:.0f} min passed")
    trace.append(_note(f"after the flow ended: no keyword trigger or FAQ answer matched; the completed form "
                       f"is not restarted: {why}"))
    custom = services.context.fallback_text  # may name the customer: "We have your request, {{name}}"
    rt = Runtime(services, event, st["vars"], st["retries"], st["history"], st["turn"], None)
    text = rt.render(custom) if custom else i18n.text("after_end", services.context.translate)
    button = grounding.offer_button(services.context)
    return _kept(st, event, [OutboundMessage(fit_text(text, services.context.text_limit), [button])], trace)


def _kept(st: dict[str, Any], event: TurnEvent, outbound: list[OutboundMessage],
          trace: list[dict[str, Any]]) -> StepResult:
    """A reply that runs no node: the conversation stays on its ended run (the caller keeps its flow)."""
    st["turn"] += 1
    _remember(st, event, outbound)
    return StepResult(outbound, st, [], trace, True, state_kept=True)


def _minutes_since(at: Any, event: TurnEvent) -> float | None:
    try:
        ended = datetime.fromisoformat(str(at))
    except ValueError:
        return None
    now = event.at
    if (ended.tzinfo is None) != (now.tzinfo is None):
        ended, now = ended.replace(tzinfo=None), now.replace(tzinfo=None)
    return (now - ended).total_seconds() / 60


def _asked_for_human(flow: Flow, st: dict[str, Any], event: TurnEvent, services: Services, phrase: str,
                     trace: list[dict[str, Any]]) -> StepResult:
    """What a `handoff` node does, without running one: the built-in message, a `handoff` effect, the state
    paused. A pending question stays pending, so handing back asks it again."""
    asked = (st["waiting"] or {}).get("node")
    trace.append(_note(f"the customer asked for a person ({phrase!r}); handed off"
                       + (f", question {asked!r} stays pending" if asked else "")))
    st.update(flow=flow.fingerprint, turn=st["turn"] + 1, paused=True)
    outbound = [OutboundMessage(i18n.text("handoff", services.context.translate))]
    effect = Effect("handoff", {"reason": f"the customer asked for a person ({phrase})", "keyword": phrase,
                                "last_message": event.text})
    _remember(st, event, outbound)
    return StepResult(outbound, st, [effect], trace, st["finished"])


def _hand_back(flow: Flow, st: dict[str, Any], event: TurnEvent, services: Services,
               trace: list[dict[str, Any]]) -> StepResult:
    """A person handed the conversation back: the pending question is asked again; else the bot goes on
    from the `handoff` node's next step; else nothing is pending and the next message starts over."""
    st.update(paused=False, flow=flow.fingerprint)
    waiting, last = st["waiting"], st["node"]
    if waiting and waiting.get("node") in flow.nodes:
        st["turn"] += 1
        return _run_from(flow, st, flow.nodes[waiting["node"]], False, "handed back: asking again", event,
                         services, trace)
    after = (flow.target(last, "out") if last in flow.nodes and flow.nodes[last].type == "handoff"
             and not st["finished"] else None)
    if after is not None:
        st["turn"] += 1
        return _run_from(flow, st, flow.nodes[after], False, f"handed back: going on after {last!r}", event,
                         services, trace)
    trace.append(_note("handed back with nothing pending: the next message starts the flow"))
    st.update(waiting=None, finished=True)
    st.pop("ended", None)
    return StepResult([], st, [], trace, True)


def _comment_run(
    flow: Flow, st: dict[str, Any], event: TurnEvent, services: Services, trace: list[dict[str, Any]]
) -> StepResult:
    """A comment runs beside the conversation: fresh variables, never resuming the waiting node."""
    pending = _copy_state(st) if st["waiting"] else None
    entry, reason = _entry(flow, event)
    if entry is None:
        trace.append(_note(reason))
        return StepResult([], st, [], trace, st["finished"], state_kept=True)
    if pending is not None:
        asked = pending["waiting"].get("node")
        trace.append(_note(f"a comment never answers the pending question (node {asked!r}): "
                           "it stays pending unless this run waits"))
    st.update(vars={}, retries={}, waiting=None, finished=False, flow=flow.fingerprint, turn=st["turn"] + 1,
              entry=_entry_key(flow, entry))
    st.pop("asked", None)
    result = _run_from(flow, st, flow.nodes[entry], False, f"started here: {reason}", event, services, trace)
    if pending is None or result.state["waiting"] or result.state["paused"]:
        return result
    kept = {**pending, "turn": result.state["turn"], "history": result.state["history"]}
    return replace(result, state=kept, finished=kept["finished"], state_kept=True)


def _run_from(
    flow: Flow,
    st: dict[str, Any],
    node: Node,
    resume: bool,
    start_note: str | None,
    event: TurnEvent,
    services: Services,
    trace: list[dict[str, Any]],
) -> StepResult:
    """Run nodes from `node` until one waits, the flow ends or the conversation is handed off."""
    waiting = st["waiting"]
    st["waiting"] = None
    rt = Runtime(
        services,
        event,
        st["vars"],
        st["retries"],
        st["history"],
        st["turn"],
        waiting.get("token") if waiting else None,
    )
    outbound: list[OutboundMessage] = []
    effects: list[Effect] = []
    error: str | None = None
    finished = False
    steps = 0
    while True:
        steps += 1
        try:
            result = _run(node, rt, resume)
        except Exception as exc:  # a node bug must not kill the worker or lose the turn
            error = f"node '{node.id}' ({node.type}) failed: {type(exc).__name__}: {exc}"
            trace.append({**_note(error), "node_id": node.id, "type": node.type})
            finished = True
            break
        resume = False
        changed = {}
        for key, value in result.set_vars.items():
            if rt.vars.get(key, _UNSET) != value:
                changed[key] = value
            rt.vars[key] = value
        entry_trace: dict[str, Any] = {
            "node_id": node.id,
            "type": node.type,
            "port": result.port,
            "vars_changed": changed,
            "warnings": rt.warnings + result.warnings,
        }
        if start_note:
            entry_trace["note"], start_note = start_note, None
        if result.wait:
            entry_trace["waiting"] = True
        if result.prompt is not None:
            entry_trace["prompt"] = result.prompt
        trace.append(entry_trace)
        outbound.extend(result.replies)
        effects.extend(result.effects)
        st["node"] = node.id
        if result.pause:
            st["paused"] = True
            break
        if result.wait:
            st["waiting"] = {"node": node.id, "token": result.wait_token}
            st["asked"] = True
            break
        next_id = result.jump or (flow.target(node.id, result.port) if result.port else None)
        if result.finish or next_id is None:
            finished = True
            break
        if steps >= MAX_STEPS:
            error = f"stopped after {MAX_STEPS} steps without waiting for the customer (a loop?); last node '{node.id}'"
            trace.append(_note(error))
            finished = True
            break
        node = flow.nodes[next_id]
    st["finished"] = finished
    if finished and error is None:  # what the next message is routed by (`_after_end`)
        # A completed form is a run that waited for the customer's answers, not a flow that merely has an
        # ask node: a keyword branch that only replies does not hold the next message back.
        st["ended"] = {"at": event.at.isoformat(), "flow": flow.fingerprint, "name": flow.name,
                       "form": bool(st.get("asked"))}
    else:
        st.pop("ended", None)
    _remember(st, event, outbound)
    return StepResult(outbound, st, effects, trace, finished, error)


_UNSET = object()


def _remember(st: dict[str, Any], event: TurnEvent, outbound: list[OutboundMessage]) -> None:
    """Append this turn to the rolling history window (used as LLM context)."""
    history = st["history"]
    if event.kind != "timeout" and event.text:
        history.append({"role": "user", "text": event.text})
    for message in outbound:
        if message.kind != "comment_reply" and message.text:
            history.append({"role": "assistant", "text": message.text})
    if len(history) > HISTORY_LIMIT:
        del history[: len(history) - HISTORY_LIMIT]
