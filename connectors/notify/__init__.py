"""Where a tenant's notifications go out: one small module per destination, HTTP (and format) only, like
the channel adapters. The pipeline (connectors/pipeline/notifications.py) decides what, when and how often."""
