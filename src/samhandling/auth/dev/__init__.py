"""The development issuer (`--dev-issuer`): its signing key, tokens for the personas, the
token endpoint (private_key_jwt, DPoP) and its routes. Refuses to run in production."""
