"""Pure core: values in, values out. No files, clock, DB, network or logging here."""
