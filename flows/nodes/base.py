"""The node contract: what a node type declares, what it gets at run time and what it returns.

A node instance is built once per published flow version (its `data` already validated and compiled), so
`run` only does the per-turn work. Nodes return a `Result`; the engine applies it (variables, port,
waiting, outbound, effects). Nodes never do I/O except through `rt.services`.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from marshmallow import RAISE, Schema, fields

from flows import i18n
from flows.nodes.form import HIDDEN, Choices, Translate, form_fields
from flows.templating import Missing, dig, placeholders, render, strings_in
from flows.turn import Effect, OutboundMessage, TurnEvent

if TYPE_CHECKING:
    from flows.services import Services


class DataSchema(Schema):
    """Base for node `data` schemas: unknown keys are errors (typos), editor label/note are allowed.

    Each field of a subclass is also its inspector field: give it `metadata=form(N_("Label"), ...)`
    (see `flows.nodes.form`)."""

    class Meta:
        unknown = RAISE

    label = fields.String(metadata=HIDDEN)
    note = fields.String(metadata=HIDDEN)


@dataclass(slots=True)
class Result:
    """What a node decided. `wait` keeps the conversation on this node until the next event."""

    port: str | None = None
    replies: list[OutboundMessage] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    set_vars: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    wait: bool = False
    wait_token: str | None = None
    jump: str | None = None
    finish: bool = False
    pause: bool = False
    prompt: list[dict] | None = None


class Runtime:
    """Per-turn view a node runs against: services, the event, variables and the state's counters."""

    __slots__ = ("services", "event", "vars", "retries", "history", "warnings", "turn", "wait_token")

    def __init__(
        self,
        services: Services,
        event: TurnEvent,
        variables: dict[str, Any],
        retries: dict[str, int],
        history: list[dict[str, str]],
        turn: int,
        wait_token: str | None = None,
    ) -> None:
        self.services = services
        self.event = event
        self.vars = variables
        self.retries = retries
        self.history = history
        self.turn = turn
        self.wait_token = wait_token
        self.warnings: list[str] = []

    @property
    def language(self) -> str:
        return self.services.context.language

    @property
    def channel(self) -> str:
        return self.event.channel

    def lookup(self, path: str) -> Any:
        """Resolve a template path: conversation vars, then contact, then profile/system values."""
        variables = self.vars
        if path in variables:
            return variables[path]
        head, _, rest = path.partition(".")
        if rest:
            if head == "profile":
                return dig(self.services.context.profile, rest.split("."))
            if head == "contact":
                return dig(self.event.contact, rest.split("."))
            if head == "vars":
                return dig(variables, rest.split("."))
            if head in variables:
                return dig(variables[head], rest.split("."))
            return Missing
        contact = self.event.contact
        if path in contact:
            return contact[path]
        if path == "channel":
            return self.event.channel
        if path == "last_message":
            return self.event.text
        if path == "language":
            return self.language
        return Missing

    def render(self, text: str) -> str:
        """Render `{{...}}` in `text`; unknown variables become "" and a trace warning."""
        if "{{" not in text:
            return text
        missing: list[str] = []
        out = render(text, self.lookup, missing)
        for path in missing:
            self.warnings.append(f"variable '{path}' is not set; rendered empty")
        return out

    def text(self, key: str, **values: str) -> str:
        """A system text in the tenant's language."""
        return i18n.text(key, self.services.context.translate, **values)


class Node:
    """Base class for node types; subclasses set the class attributes and implement `run`."""

    type: ClassVar[str]
    #: Palette texts, English and marked for translation: `label = N_("Ask")`.
    label: ClassVar[str]
    description: ClassVar[str]
    category: ClassVar[str] = "logic"
    ports: ClassVar[tuple[str, ...]] = ("out",)
    waits: ClassVar[bool] = False
    #: The one declaration of the node's `data`: validation, the inspector form, the docs table and the
    #: form's translatable texts all come from it.
    schema: ClassVar[builtins.type[Schema]] = DataSchema  # `type` is shadowed by the attribute above
    #: For nodes whose ports come from their data (condition rules): {"field", "key"} — the editor adds one
    #: port per item of `data[field]`, named by `item[key]`, before the static `ports`.
    dynamic_ports: ClassVar[dict[str, str] | None] = None
    #: Services that may block on I/O for seconds ("llm", "http"): the pipeline releases its database
    #: connection around a step only for flows that use one.
    uses: ClassVar[frozenset[str]] = frozenset()

    __slots__ = ("id", "data")

    def __init__(self, node_id: str, data: dict[str, Any]) -> None:
        self.id = node_id
        self.data = data
        self.setup()

    # --- compile time -------------------------------------------------------------------------------
    def setup(self) -> None:
        """Precompute per-version things (regexes, lowered keywords); raise ValueError for bad data."""

    def output_ports(self) -> tuple[str, ...]:
        """Ports edges may leave from; dynamic for nodes like `condition`."""
        return self.ports

    def jump_targets(self) -> tuple[str, ...]:
        """Node ids this node can jump to without an edge (`goto`)."""
        return ()

    def reads(self) -> set[str]:
        """Variables this node reads: by default every `{{var}}` in its data."""
        found: set[str] = set()
        for text in strings_in(self.data):
            found.update(placeholders(text))
        return found

    def writes(self) -> set[str]:
        """Variables this node sets."""
        return set()

    # --- run time -----------------------------------------------------------------------------------
    def run(self, rt: Runtime) -> Result:
        """Execute on entry; return the port to follow or `wait=True`."""
        raise NotImplementedError

    def resume(self, rt: Runtime) -> Result:
        """Handle the event that arrived while this node was waiting (waiting nodes only)."""
        return Result(port=self.output_ports()[0] if self.output_ports() else None)

    @classmethod
    def describe(cls, channels: Choices | None = None, translate: Translate = str) -> dict[str, Any]:
        """The palette/inspector description the editor builds forms from (JSON-serialisable).

        `channels` are the (value, label) pairs channel fields offer; `translate` turns this type's
        English texts into the reader's language."""
        return {
            "type": cls.type,
            "label": translate(cls.label),
            "description": translate(cls.description),
            "category": cls.category,
            "ports": list(cls.ports),
            "waits": cls.waits,
            "dynamic_ports": dict(cls.dynamic_ports) if cls.dynamic_ports else None,
            "fields": form_fields(cls.schema, channels, translate),
        }
