"""HTTP plumbing: errors, bodies, limits, headers, hosts, cookies, the client id, serving and the access log."""
