"""The channel adapters: one module per channel (HTTP and format conversion only: no database, no worker
scheduling), each declaring its channel type on its connector class; the registry that discovers them (the
one list of channels); and the pieces they share (the Connector protocol and declarations, the value objects
that cross the seam, the Meta webhook envelope and Send API, the outbound HTTP client and rate limits)."""
