"""Staff users and their roles, scoped to a library and its children."""
