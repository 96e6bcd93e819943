"""The logic of identity, one module per resource: functions take the actor and plain data,
raise fairhub errors and leave committing to the caller."""
