"""Users, roles, permissions and password hashing."""
