"""Tables and their formats: terminal, CSV, JSON, Markdown, HTML, plots."""
