"""Reports of plans for people: Mermaid diagrams (:mod:`llmops.report.mermaid`)."""
