"""Text laid out in a template's fields with real font metrics, shared by proofs, preflight and export."""
