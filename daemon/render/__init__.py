"""Renderers: document plans to bytes, deterministic (`now` is passed in)."""
