"""The node-type texts of the editor palette and inspector in the user's language.

`flows` is pure Python and speaks English; its node classes declare their labels, descriptions and form
help. They are listed here (so `pybabel extract` puts them in the catalogs) and translated on the way out
of `GET /api/node-types`. A test fails when a node type adds a text that is not listed.
"""

from __future__ import annotations

import copy
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

NODE_TEXTS = (
    _l("Trigger"),
    _l("Starts the flow when a message or comment matches the channel, kind and keywords."),
    _l("Channels"),
    _l("Event kinds"),
    _l("Empty means any kind of message; a comment only if a Reply to comment node follows."),
    _l("Keywords"),
    _l("Empty means any text."),
    _l("Keyword match"),
    _l("Fuzzy threshold (50-100)"),
    _l("Similarity needed in fuzzy mode; typos pass above it."),
    _l("Ask"),
    _l("Ask a question, validate the answer (phone, email, ...) and save it in a variable."),
    _l("Question"),
    _l("Leave empty to just wait for the next message."),
    _l("Save answer as"),
    _l("e.g. phone"),
    _l("Validate as"),
    _l("Choices"),
    _l("For 'choice': allowed answers (shown as buttons)."),
    _l("Regex pattern"),
    _l("For 'regex': the whole answer must match."),
    _l("Default phone region"),
    _l("Two-letter country code for numbers without +, e.g. RU or US."),
    _l("Re-ask times"),
    _l("Re-ask text"),
    _l("Empty uses the built-in text in the tenant's language."),
    _l("Quick-reply buttons"),
    _l("Reply to comment"),
    _l("Reply publicly under the comment and send the author one private message."),
    _l("Public reply"),
    _l("Shown under the post."),
    _l("Private message"),
    _l("Sent once to the commenter's DM."),
    _l("Buttons on the private message"),
    _l("Follow up"),
    _l("Wait for a reply; if none comes in time, continue on 'timeout'."),
    _l("Wait"),
    _l("Unit"),
    _l("Message now (optional)"),
    _l("Message"),
    _l("Send a text with {{variables}} and optional quick-reply buttons."),
    _l("Text"),
    _l("Use {{name}} or {{profile.offer}} for values."),
    _l("Up to 10 short labels."),
    _l("Condition"),
    _l("Branch on a variable, keywords in the message, the channel or the time of day."),
    _l("Rules"),
    _l("Checked in order; each rule id becomes an output port, plus 'else'."),
    _l("Port id"),
    _l("Check"),
    _l("Variable"),
    _l("Operator"),
    _l("Value"),
    _l("From (HH:MM)"),
    _l("To (HH:MM)"),
    _l("Weekdays (0=Mon)"),
    _l("End"),
    _l("Finish the conversation. The next message starts the flow again."),
    _l("Go to"),
    _l("Jump to another node by id."),
    _l("Target node id"),
    _l("Set variable"),
    _l("Set one or more variables; values may use {{other_variables}}."),
    _l("Variables"),
    _l("Variable name → value (templates allowed)."),
    _l("FAQ answer"),
    _l("Answer from the business FAQ when a question matches closely enough."),
    _l("Question to look up"),
    _l("Empty means the customer's last message."),
    _l("Match threshold (0-100)"),
    _l("Empty uses the built-in threshold."),
    _l("Send the answer"),
    _l("Optional variable for the answer."),
    _l("AI reply"),
    _l("Reply with the AI using the business profile, prompt layers and this prompt."),
    _l("Instructions for this step"),
    _l("e.g. Answer questions about prices and suggest booking."),
    _l("Max reply tokens"),
    _l("Use the FAQ in the prompt"),
    _l("Extract fields"),
    _l("Fields the AI should pick out of the message, validated like Ask."),
    _l("Description"),
    _l("Context budget (tokens)"),
    _l("Hand off to a human"),
    _l("Pause the bot in this conversation and alert a manager."),
    _l("Message to the customer"),
    _l("Send no message"),
    _l("Reason (for the manager)"),
    _l("Save lead"),
    _l("Save a lead from collected variables (name, phone, ...)."),
    _l("Required fields"),
    _l("Variables that must be filled, e.g. phone."),
    _l("Extra fields"),
    _l("Other variables to store with the lead."),
    _l("Source label"),
    _l("e.g. instagram comment campaign"),
    _l("Notify team"),
    _l("Send a notification to the business team."),
    _l("Notification text"),
    _l("e.g. New lead {{name}} {{phone}}"),
    _l("HTTP request"),
    _l("Call an external API and save values from its JSON response (Integrations plan)."),
    _l("Method"),
    _l("URL"),
    _l("May use {{variables}}."),
    _l("JSON body"),
    _l("Strings may use {{variables}}."),
    _l("Headers"),
    _l("Save from response"),
    _l("Variable → JSON path in the response, e.g. booking_id → data.id"),
    _l("Timeout (seconds)"),
)

TRANSLATED_KEYS = ("label", "description", "help")


def _translate(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (gettext(v) if k in TRANSLATED_KEYS and isinstance(v, str) and v else _translate(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(v) for v in value]
    return value


def translated_node_types(node_types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy with labels, descriptions and help texts in the current locale (ids and choices unchanged)."""
    return _translate(copy.deepcopy(node_types))
