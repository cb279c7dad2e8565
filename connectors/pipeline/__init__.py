"""The pipeline: where the database, the flow engine and the channel connectors meet.

`ingest` stores verified webhook events and enqueues them; `turns` runs one conversation turn per event
inside a per-contact lock; `delivery` sends the stored outbound messages exactly once; `sweeper` re-enqueues
whatever Redis or a killed worker lost. Channel modules stay HTTP + format conversion only.
"""
