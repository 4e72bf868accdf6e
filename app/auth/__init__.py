"""Staff identity: accounts and sessions, passwords, tokens, roles, who may call a route, and CSRF."""
