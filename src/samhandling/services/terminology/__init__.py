"""The terminology operations (`$lookup`, `$validate-code`, `$expand`) over `terminology/`."""
