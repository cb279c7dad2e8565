"""Node types, one module each. Nothing lists them: `flows.registry` discovers every module of this package."""
