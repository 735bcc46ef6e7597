"""billdrop: billing and payout exports in, closing documents out."""
