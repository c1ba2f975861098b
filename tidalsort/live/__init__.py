"""Talking to running programs: SuperDirt over OSC, Strudel over HTTP, file-system events."""
