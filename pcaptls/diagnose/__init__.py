"""Rules that turn what was seen into findings: the registry, the rules, the fleet view."""
