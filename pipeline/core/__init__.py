"""The running app's foundation: settings, the runtime, errors, files, units, who acts, the outbox and the
worker pool. Every room may import it; it imports no room."""
