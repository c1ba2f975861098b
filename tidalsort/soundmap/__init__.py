"""The interactive sound map of a bank, and its pictures."""
