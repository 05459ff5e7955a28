"""Pure rules behind the dev server's control-plane resources (no HTTP, no SQL)."""
