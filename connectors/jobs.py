"""Aliases of the job entry points under their old dotted paths, for one release: jobs enqueued by the
previous release (`connectors.jobs.handle_inbound`, follow-up timers) still run after a deploy
(docs/deploy.md). Remove after the next release."""

from connectors.runtime.jobs import deliver_conversation, fire_follow_up, handle_inbound, send_again

__all__ = ["deliver_conversation", "fire_follow_up", "handle_inbound", "send_again"]
