"""`end`: finish the conversation explicitly (an unconnected port also ends it)."""

from __future__ import annotations

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_


class End(Node):
    """Marks the flow finished. The next message goes to a keyword trigger, else a confident FAQ answer,
    else the flow (a flow that asked questions starts again only after its `restart_after_minutes`):
    see `engine.step`."""

    type = "end"
    label = N_("End")
    description = N_("Finish the conversation. The next message goes to a keyword trigger or an FAQ answer; "
                     "a form starts again only after the flow's restart time.")
    category = "logic"
    ports = ()
    schema = DataSchema

    def run(self, rt: Runtime) -> Result:
        return Result(finish=True)
