"""The source kinds' pure halves: one module per kind (read → validate → plan) (core)."""
