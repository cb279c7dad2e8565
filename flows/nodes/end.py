"""`end`: finish the conversation explicitly (an unconnected port also ends it)."""

from __future__ import annotations

from flows.nodes.base import DataSchema, Node, Result, Runtime
from flows.nodes.form import N_


class End(Node):
    """Marks the flow finished; the next message starts the flow again from its trigger."""

    type = "end"
    label = N_("End")
    description = N_("Finish the conversation. The next message starts the flow again.")
    category = "logic"
    ports = ()
    schema = DataSchema

    def run(self, rt: Runtime) -> Result:
        return Result(finish=True)
