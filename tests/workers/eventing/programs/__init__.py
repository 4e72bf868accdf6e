"""Small programs the crash tests run as real processes, to kill them with SIGKILL."""
