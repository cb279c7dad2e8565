"""Node types, one module each; importing this package registers them all (see `flows.registry`)."""

from flows.nodes import (  # noqa: F401
    ask,
    comment_reply,
    condition,
    end,
    faq,
    follow_up,
    goto,
    handoff,
    http_request,
    lead,
    llm,
    message,
    notify,
    set_variable,
    trigger,
)
