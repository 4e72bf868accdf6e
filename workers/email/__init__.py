"""Email service: owns the sent notifications, one per order and status, sent over SMTP or to a directory."""
