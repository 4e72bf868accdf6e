"""Live push: stream readers in the web process, fanned out to WebSockets."""
