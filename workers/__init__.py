"""The workers: one package per service, plus the event backbone and the contracts."""
