"""Reading a Discourse forum and pushing compensations to it."""
