"""What the wheel ships beside the code: `templates/` (with the default billdrop.toml), `inbox_schemas/`,
`samples/` and `systemd/`. Each is a symlink to the checkout's top-level folder, so an editable install
reads them in place and the wheel carries copies (pyproject.toml's package-data)."""
