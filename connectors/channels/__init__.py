"""The channel adapters: one module per channel (HTTP and format conversion only: no database, no worker
scheduling), the registry that lists them, and the pieces they share (the Connector protocol, the value
objects that cross the seam, the Meta webhook envelope, the outbound HTTP client and rate limits)."""
