"""Outside services that are not channels: the LLM client (OpenAI-compatible) and the HTTP client of
`http_request` nodes."""
