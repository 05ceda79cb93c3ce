"""Sans-IO TLS: records, handshake messages, registries, fingerprints."""
