"""The source kinds\x27 pure halves: one module per kind (read → validate → plan) (core)."""
