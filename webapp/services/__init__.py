"""Domain services: what the routes, the CLI, the admin and the pipeline share (creating tenants, users and
channels, storing and publishing flows, simulating a flow, exporting leads...). Blueprints and commands are
thin over them; nothing here imports a blueprint or a command."""
